import { graphicsPixelSize, type CellPixels } from './graphicsSupport.js';
import type { FrameDamage } from './frameWriter.js';
import { iterm2Image, sixelImage } from '../view/graphicsProtocol.js';
import { kittyDeleteImage, kittyTransmitForPlaceholders, KITTY_MAX_CELLS } from '../view/kittyPlaceholder.js';

/**
 * The dashboard's sample picture at the terminal's own resolution (I/O). Each file, at each size the
 * panel asks for, is decoded once, off the main thread:
 * - kitty (kitty, Ghostty): sent once as an image with a virtual placement; the panel then writes
 *   placeholder cells for it (panels/samples.ts), which the frame diff treats as text.
 * - iTerm2 (iTerm2, WezTerm) and sixel (foot, WezTerm, xterm -ti vt340, Windows Terminal): the
 *   panel leaves a hole in its rows (`CSI n C`, which the frame writer never writes over) and the
 *   picture is drawn into it after a frame, again only when the terminal lost it (the screen was
 *   cleared, or an overlay wrote over those cells).
 * Moving between samples sends nothing for a kitty picture already sent; quitting deletes them.
 */

export type InlineProtocol = 'kitty' | 'iterm2' | 'sixel';

/** Where the panel wants a picture: the file and the cell area it may fill. */
export interface PictureSlot {
  path: string;
  cols: number;
  rows: number;
  /** The file's bytes where it is not on this machine (a run on another host); else read from `path`. */
  read?: (path: string) => Promise<Buffer | string>;
}

/** A picture ready to be shown: the cells it fills (inside the slot, its shape kept). */
export interface PlacedPicture {
  /** The kitty image id, for its placeholders (0 for the other protocols). */
  id: number;
  cols: number;
  rows: number;
  /** The panel leaves a hole for it (iTerm2, sixel) instead of writing placeholders (kitty). */
  hole: boolean;
}

/** What the panels may ask (pure): is this file at this slot size ready to be shown? */
export interface PictureLookup {
  placed(slot: PictureSlot): PlacedPicture | null;
}

/** Where a hole's picture is on the screen (0-based), and which slot it shows. */
export interface PictureSpot {
  slot: PictureSlot;
  row: number;
  col: number;
}

/** How many pictures are kept (on the terminal for kitty, encoded here for the others). */
const KEEP = 24;

const keyOf = (slot: PictureSlot) => `${slot.cols}x${slot.rows}:${slot.path}`;

interface Entry {
  placed: PlacedPicture;
  /** The escape sequence that draws it at the cursor (iTerm2, sixel). */
  payload: string | null;
}

export class InlinePictures implements PictureLookup {
  private readonly ready = new Map<string, Entry>();
  private readonly pending = new Set<string>();
  private nextId = 1;
  private closed = false;
  private readonly listeners = new Set<() => void>();
  private protocol: InlineProtocol | null = null;
  /** The hole picture on screen: which, where, and in which screen generation. */
  private drawn: { key: string; row: number; col: number; generation: number } | null = null;

  constructor(
    private readonly output: { writeRaw(text: string): void },
    private readonly cellPx: () => CellPixels | null,
  ) {}

  /** The terminal's protocol, once known; pictures are prepared for it from then on. */
  use(protocol: InlineProtocol): void {
    if (this.protocol === protocol) return;
    this.protocol = protocol;
    this.ready.clear();
    this.drawn = null;
  }

  /** Calls `listener` when a picture is ready to be shown (draw again); returns the unsubscribe. */
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  placed(slot: PictureSlot): PlacedPicture | null {
    return this.ready.get(keyOf(slot))?.placed ?? null;
  }

  /** The panel wants this picture: prepare (and for kitty send) it unless it is ready or on its way. */
  want(slot: PictureSlot | null): void {
    if (!slot || this.closed || !this.protocol || slot.cols < 1 || slot.rows < 1) return;
    const key = keyOf(slot);
    const entry = this.ready.get(key);
    if (entry) {
      // The newest wanted goes last: the oldest goes first when the keep limit is reached.
      this.ready.delete(key);
      this.ready.set(key, entry);
      return;
    }
    if (this.pending.has(key)) return;
    this.pending.add(key);
    void this.prepare(slot, key, this.protocol).finally(() => this.pending.delete(key));
  }

  private async prepare(slot: PictureSlot, key: string, protocol: InlineProtocol): Promise<void> {
    try {
      const sharp = (await import('sharp')).default;
      const input = slot.read ? await slot.read(slot.path) : slot.path;
      const meta = await sharp(input, { animated: false }).metadata();
      const width = meta.width ?? 1;
      const height = meta.height ?? 1;
      const cell = this.cellPx() ?? { width: 10, height: 20 };
      // The cells the picture fills: the slot's width, or its height, whichever binds, its shape kept.
      const maxCols = Math.min(slot.cols, KITTY_MAX_CELLS);
      const maxRows = Math.min(slot.rows, KITTY_MAX_CELLS);
      const scale = Math.min((maxCols * cell.width) / width, (maxRows * cell.height) / height);
      const cols = Math.max(1, Math.min(maxCols, Math.round((width * scale) / cell.width)));
      const rows = Math.max(1, Math.min(maxRows, Math.round((height * scale) / cell.height)));
      // Pixels for those cells, but no more than twice the file's own (the terminal scales the rest: less to send).
      const px = graphicsPixelSize(cols, rows, cell, { width, height });
      const resized = sharp(input, { animated: false }).resize({ width: px.width, height: px.height, fit: 'inside' });
      let payload: string | null = null;
      let id = 0;
      if (protocol === 'sixel') {
        const { data, info } = await resized.removeAlpha().raw().toBuffer({ resolveWithObject: true });
        payload = sixelImage({ width: info.width, height: info.height, channels: 3, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
      } else {
        const png = await resized.png({ compressionLevel: 1 }).toBuffer();
        const bytes = new Uint8Array(png.buffer, png.byteOffset, png.byteLength);
        if (protocol === 'iterm2') payload = iterm2Image(bytes, { cols, rows });
        else if (!this.closed && this.protocol === protocol) {
          id = this.takeId();
          this.output.writeRaw(kittyTransmitForPlaceholders(bytes, id, cols, rows));
        }
      }
      if (this.closed || this.protocol !== protocol) return;
      if (protocol !== 'kitty') this.evict();
      this.ready.set(key, { placed: { id, cols, rows, hole: protocol !== 'kitty' }, payload });
      for (const listener of this.listeners) listener();
    } catch {
      // A file that cannot be read (deleted, half written): the half-block picture stays.
    }
  }

  /** Past the keep limit the oldest picture goes (deleted from the terminal for kitty). */
  private evict(): Entry | null {
    if (this.ready.size < KEEP) return null;
    const [oldestKey, oldest] = this.ready.entries().next().value as [string, Entry];
    this.ready.delete(oldestKey);
    return oldest;
  }

  /** An id for a new kitty picture; past the keep limit (far below 255 ids) the oldest picture's id is reused. */
  private takeId(): number {
    const oldest = this.evict();
    if (!oldest) return this.nextId++;
    this.output.writeRaw(kittyDeleteImage(oldest.placed.id));
    return oldest.placed.id;
  }

  /**
   * After a frame: a hole picture is drawn into its hole when it is new there, or the terminal lost
   * it (the screen was cleared since — `generation` — or the frame wrote over some of its cells).
   */
  afterFrame(spot: PictureSpot | null, damage: FrameDamage, generation: number): void {
    if (!spot) {
      this.drawn = null;
      return;
    }
    const key = keyOf(spot.slot);
    const entry = this.ready.get(key);
    if (!entry?.payload) return;
    const { cols, rows } = entry.placed;
    const same = this.drawn && this.drawn.key === key && this.drawn.row === spot.row && this.drawn.col === spot.col && this.drawn.generation === generation;
    let hurt = false;
    for (let r = spot.row; r < spot.row + rows && !hurt; r++) {
      for (const [from, to] of damage.get(r) ?? []) if (from < spot.col + cols && to > spot.col) hurt = true;
    }
    if (same && !hurt) return;
    this.output.writeRaw(`\x1b7\x1b[${spot.row + 1};${spot.col + 1}H${entry.payload}\x1b8`);
    this.drawn = { key, row: spot.row, col: spot.col, generation };
  }

  /** Deletes every kitty picture sent (on quit); the others go with the screen. */
  close(): void {
    this.closed = true;
    if (this.protocol === 'kitty') for (const entry of this.ready.values()) this.output.writeRaw(kittyDeleteImage(entry.placed.id));
    this.ready.clear();
  }
}
