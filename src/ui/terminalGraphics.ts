import { GRAPHICS_QUERY, graphicsPixelSize, parseGraphicsReplies, protocolFromEnvironment, protocolFromReplies, type ImageProtocolChoice } from './graphicsSupport.js';
import { iterm2Image, kittyImage, sixelImage } from '../view/graphicsProtocol.js';
import { kittyDeleteImage } from '../view/kittyPlaceholder.js';
import type { CellArea } from './galleryModel.js';

/**
 * Full-screen sample images drawn by the terminal itself (I/O): kitty, iTerm2 or sixel graphics,
 * whichever the terminal speaks, found from the environment or, where that cannot tell (over SSH
 * TERM_PROGRAM does not travel), by asking the terminal once. Inside tmux or screen these need
 * passthrough, so they are not tried there: half blocks draw the picture instead.
 */

/** The full-screen picture's kitty image id: above the dashboard's own (1…255), so clearing it leaves those. */
const VIEW_IMAGE_ID = 1000;

/** How long to wait for the terminal's answer (DA1 is answered by every terminal, at once). */
const QUERY_TIMEOUT_MS = 400;

export interface GraphicsOutput {
  write(text: string): unknown;
  /** Forget the screen: the next frame is written whole (FrameWriter.invalidate). */
  invalidate(): void;
  /** Resolves when those screen rows (0-based) are blank: the frame around the picture is on screen. */
  whenBlank(from: number, count: number): Promise<void>;
}

export class TerminalGraphics {
  private choice: ImageProtocolChoice | null;
  private asking: Promise<ImageProtocolChoice> | null = null;
  private replies = '';
  private finishQuery: (() => void) | null = null;
  private cellPx: { width: number; height: number } | null = null;
  private drawn: ImageProtocolChoice | null = null;
  private generation = 0;

  constructor(
    private readonly output: GraphicsOutput,
    env: NodeJS.ProcessEnv,
    /** `--images`: a protocol forced by the user, or null to detect. */
    forced: ImageProtocolChoice | null = null,
    canAsk = true,
  ) {
    const fromEnv = forced ?? protocolFromEnvironment(env);
    this.choice = fromEnv === 'ask' ? (canAsk ? null : 'blocks') : fromEnv;
  }

  /** The terminal's cell size in pixels, when it said (after asking). */
  cellPixels(): { width: number; height: number } | null {
    return this.cellPx;
  }

  /** The protocol, if known without asking (null: the terminal has to be asked). */
  known(): ImageProtocolChoice | null {
    return this.choice;
  }

  /** True while the terminal's answer is awaited: keys read meanwhile are its reply, not the user's. */
  get awaitingReply(): boolean {
    return this.finishQuery !== null;
  }

  /** Asks the terminal once; later calls get the same answer. */
  protocol(): Promise<ImageProtocolChoice> {
    if (this.choice !== null) return Promise.resolve(this.choice);
    this.asking ??= new Promise<ImageProtocolChoice>((resolve) => {
      const timer = setTimeout(() => this.finishQuery?.(), QUERY_TIMEOUT_MS);
      this.finishQuery = () => {
        clearTimeout(timer);
        this.finishQuery = null;
        const parsed = parseGraphicsReplies(this.replies);
        this.cellPx = parsed.cellPx;
        this.choice = protocolFromReplies(parsed);
        resolve(this.choice);
      };
      this.output.write(GRAPHICS_QUERY);
    });
    return this.asking;
  }

  /** Input read while asking: the terminal's reply, in pieces. */
  onInput(text: string): void {
    if (!this.finishQuery) return;
    this.replies += text;
    if (parseGraphicsReplies(this.replies).complete) this.finishQuery();
  }

  /** Draws a sample file into a cell area of the screen. Resolves false when it could not. */
  async draw(path: string, area: CellArea, protocol: ImageProtocolChoice, read?: (path: string) => Promise<Buffer | string>): Promise<boolean> {
    if (protocol === 'blocks') return false;
    const generation = ++this.generation;
    try {
      const sharp = (await import('sharp')).default;
      const input = read ? await read(path) : path;
      const meta = await sharp(input, { animated: false }).metadata();
      const size = graphicsPixelSize(area.cols, area.rows, this.cellPx, { width: meta.width ?? 1, height: meta.height ?? 1 });
      const cell = this.cellPx ?? { width: 10, height: 20 };
      const cols = Math.max(1, Math.min(area.cols, Math.ceil(size.width / cell.width)));
      const rows = Math.max(1, Math.min(area.rows, Math.ceil(size.height / cell.height)));
      const col = area.col + Math.max(0, Math.floor((area.cols - cols) / 2));
      const resized = sharp(input, { animated: false }).resize({ width: size.width, height: size.height, fit: 'inside' });
      let payload: string;
      if (protocol === 'sixel') {
        const { data, info } = await resized.removeAlpha().raw().toBuffer({ resolveWithObject: true });
        payload = sixelImage({ width: info.width, height: info.height, channels: 3, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
      } else {
        const png = new Uint8Array(await resized.png({ compressionLevel: 1 }).toBuffer());
        payload = protocol === 'kitty' ? kittyImage(png, { cols, rows }, VIEW_IMAGE_ID) : iterm2Image(png, { cols, rows });
      }
      await this.output.whenBlank(area.row, area.rows);
      // A later draw or a clear since this one began wins.
      if (generation !== this.generation) return false;
      this.output.write(`\x1b7\x1b[${area.row + 1};${col + 1}H${payload}\x1b8`);
      this.drawn = protocol;
      return true;
    } catch {
      return false;
    }
  }

  /** Takes the picture off the screen; the dashboard's next frame is drawn whole. */
  clear(): void {
    this.generation++;
    if (this.drawn === null) return;
    if (this.drawn === 'kitty') this.output.write(kittyDeleteImage(VIEW_IMAGE_ID));
    this.drawn = null;
    this.output.invalidate();
  }
}
