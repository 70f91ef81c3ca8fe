import type { CellPixels } from './graphicsSupport.js';
import { kittyDeleteImage, kittyTransmitForPlaceholders, KITTY_MAX_CELLS, KITTY_MAX_ID } from '../view/kittyPlaceholder.js';

/**
 * The dashboard's sample picture at the terminal's own resolution (I/O), where the terminal speaks
 * kitty graphics with Unicode placeholders (kitty, Ghostty): each file, at each size the panel asks
 * for, is decoded and sent once, as an image with a virtual placement; the panel then only writes
 * placeholder cells for it (see panels/samples.ts), which the frame diff treats as any other text.
 * Moving between samples sends nothing for a picture already sent; quitting deletes them all.
 */

/** Where the panel wants a picture: the file and the cell area it may fill. */
export interface PictureSlot {
  path: string;
  cols: number;
  rows: number;
}

/** A picture the terminal holds: its image id and the cells it fills (inside the slot, its shape kept). */
export interface PlacedPicture {
  id: number;
  cols: number;
  rows: number;
}

/** What the panels may ask (pure): is this file at this slot size on the terminal yet? */
export interface PictureLookup {
  placed(slot: PictureSlot): PlacedPicture | null;
}

/** How many pictures the terminal is asked to keep: older ones are deleted. */
const KEEP = 24;

const keyOf = (slot: PictureSlot) => `${slot.cols}x${slot.rows}:${slot.path}`;

export class InlinePictures implements PictureLookup {
  private readonly sent = new Map<string, PlacedPicture>();
  private readonly pending = new Set<string>();
  private nextId = 1;
  private closed = false;
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly output: { writeRaw(text: string): void },
    private readonly cellPx: () => CellPixels | null,
  ) {}

  /** Calls `listener` when a picture is ready to be placed (draw again); returns the unsubscribe. */
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  placed(slot: PictureSlot): PlacedPicture | null {
    return this.sent.get(keyOf(slot)) ?? null;
  }

  /** The panel wants this picture: decode and send it unless it is there or on its way. */
  want(slot: PictureSlot | null): void {
    if (!slot || this.closed || slot.cols < 1 || slot.rows < 1) return;
    const key = keyOf(slot);
    const sent = this.sent.get(key);
    if (sent) {
      // The newest wanted goes last: the oldest is deleted first when the keep limit is reached.
      this.sent.delete(key);
      this.sent.set(key, sent);
      return;
    }
    if (this.pending.has(key)) return;
    this.pending.add(key);
    void this.send(slot, key).finally(() => this.pending.delete(key));
  }

  private async send(slot: PictureSlot, key: string): Promise<void> {
    try {
      const sharp = (await import('sharp')).default;
      const meta = await sharp(slot.path, { animated: false }).metadata();
      const width = meta.width ?? 1;
      const height = meta.height ?? 1;
      const cell = this.cellPx() ?? { width: 10, height: 20 };
      // The cells the picture fills: the slot's width, or its height, whichever binds, its shape kept.
      const maxCols = Math.min(slot.cols, KITTY_MAX_CELLS);
      const maxRows = Math.min(slot.rows, KITTY_MAX_CELLS);
      const scale = Math.min((maxCols * cell.width) / width, (maxRows * cell.height) / height);
      const cols = Math.max(1, Math.min(maxCols, Math.round((width * scale) / cell.width)));
      const rows = Math.max(1, Math.min(maxRows, Math.round((height * scale) / cell.height)));
      const png = await sharp(slot.path, { animated: false })
        .resize({ width: cols * cell.width, height: rows * cell.height, fit: 'inside' })
        .png({ compressionLevel: 1 })
        .toBuffer();
      if (this.closed) return;
      const id = this.takeId();
      this.output.writeRaw(kittyTransmitForPlaceholders(new Uint8Array(png.buffer, png.byteOffset, png.byteLength), id, cols, rows));
      this.sent.set(key, { id, cols, rows });
      for (const listener of this.listeners) listener();
    } catch {
      // A file that cannot be read (deleted, half written): the half-block picture stays.
    }
  }

  /** An id for a new picture; past the keep limit the oldest picture is deleted and its id reused. */
  private takeId(): number {
    if (this.sent.size >= KEEP || this.nextId > KITTY_MAX_ID) {
      const [oldestKey, oldest] = this.sent.entries().next().value as [string, PlacedPicture];
      this.sent.delete(oldestKey);
      this.output.writeRaw(kittyDeleteImage(oldest.id));
      return oldest.id;
    }
    return this.nextId++;
  }

  /** Deletes every picture sent (on quit). */
  close(): void {
    this.closed = true;
    for (const picture of this.sent.values()) this.output.writeRaw(kittyDeleteImage(picture.id));
    this.sent.clear();
  }
}
