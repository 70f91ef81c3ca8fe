// A small terminal screen model, enough to follow what a full-screen program draws: printable text
// (one cell per code point), CR/LF/BS/TAB, autowrap and scrolling, cursor movement (CUP/HVP, CUU,
// CUD, CUF, CUB, CHA, CNL, CPL, VPA), erase in line/display (EL, ED); SGR and private modes are
// counted but do not change the cells. Every byte fed is put in one category (text, style,
// position, erase, other) and charged to the row the cursor is on (after a cursor move: the row
// it moved to), so a capture can be read as "which row costs what".
// Wrapping is deferred as in xterm: a character in the last column leaves the cursor there with a
// wrap pending, and EL (CSI K) then erases from that column, the character just written included
// (xterm, urxvt, conhost; VTE, kitty, konsole, iTerm2 and tmux keep it).

// eslint-disable-next-line no-control-regex
const TOKEN = /\x1b\[([0-9;:?<>=]*)([ -/]*)([@-~])|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[()*+][0-~]|\x1b[\s\S]?|[\r\n\b\t\x07\x0e\x0f]|[^\x1b\r\n\b\t\x07\x0e\x0f]+/gy;

const byteLen = (s) => Buffer.byteLength(s, 'utf8');

export class Screen {
  constructor(cols, rows) {
    this.cols = cols;
    this.rows = rows;
    this.grid = Array.from({ length: rows }, () => Array(cols).fill(' '));
    this.r = 0;
    this.c = 0;
    this.pendingWrap = false;
    this.wraps = 0; // text that ran past the last column
    this.scrolls = 0; // line feeds on the last row
    this.clears = 0; // ED 2/3
    this.resetCounters();
  }

  /** Starts a new count of touched rows and bytes (e.g. per frame). */
  resetCounters() {
    this.touched = new Set();
    this.rowBytes = new Array(this.rows).fill(0);
    this.bytes = { text: 0, style: 0, position: 0, erase: 0, other: 0 };
  }

  /** The visible text of each row, trailing blanks removed. */
  lines() {
    return this.grid.map((row) => row.join('').trimEnd());
  }

  charge(kind, n) {
    this.bytes[kind] += n;
    this.rowBytes[this.r] += n;
  }

  lineFeed() {
    if (this.r === this.rows - 1) {
      this.grid.shift();
      this.grid.push(Array(this.cols).fill(' '));
      this.scrolls += 1;
    } else {
      this.r += 1;
    }
  }

  clearCells(row, from, to) {
    const line = this.grid[row];
    for (let i = Math.max(0, from); i < Math.min(this.cols, to); i++) line[i] = ' ';
    this.touched.add(row);
  }

  feed(text) {
    TOKEN.lastIndex = 0;
    let m;
    while (TOKEN.lastIndex < text.length && (m = TOKEN.exec(text)) !== null) {
      const tok = m[0];
      if (tok.length === 0) break;
      if (m[3] !== undefined) this.csi(tok, m[1], m[2], m[3]);
      else if (tok[0] === '\x1b') this.charge('other', byteLen(tok));
      else if (tok === '\r') {
        this.c = 0;
        this.pendingWrap = false;
        this.charge('position', 1);
      } else if (tok === '\n') {
        this.charge('position', 1);
        this.lineFeed();
        this.pendingWrap = false;
      } else if (tok === '\b') {
        this.c = Math.max(0, this.c - 1);
        this.pendingWrap = false;
        this.charge('position', 1);
      } else if (tok === '\t') {
        this.c = Math.min(this.cols - 1, (Math.floor(this.c / 8) + 1) * 8);
        this.charge('position', 1);
      } else if (tok.length === 1 && tok < ' ') {
        this.charge('other', 1);
      } else {
        for (const ch of tok) this.put(ch);
      }
    }
  }

  put(ch) {
    if (this.pendingWrap) {
      this.c = 0;
      this.lineFeed();
      this.wraps += 1;
      this.pendingWrap = false;
    }
    this.grid[this.r][this.c] = ch;
    this.touched.add(this.r);
    this.charge('text', byteLen(ch));
    if (this.c === this.cols - 1) this.pendingWrap = true;
    else this.c += 1;
  }

  csi(tok, params, inter, final) {
    const n = byteLen(tok);
    if (params.startsWith('?') || params.startsWith('>') || params.startsWith('<') || params.startsWith('=') || inter) {
      this.charge('other', n);
      return;
    }
    const p = params.split(/[;:]/).map((x) => (x === '' ? null : Number(x)));
    const p1 = p[0] ?? null;
    const count = Math.max(1, p1 ?? 1);
    const clampR = (r) => Math.max(0, Math.min(this.rows - 1, r));
    const clampC = (c) => Math.max(0, Math.min(this.cols - 1, c));
    const move = (r, c) => {
      this.r = clampR(r);
      this.c = clampC(c);
      this.pendingWrap = false;
      this.charge('position', n);
    };
    switch (final) {
      case 'm':
        this.charge('style', n);
        return;
      case 'H':
      case 'f':
        return move((p1 ?? 1) - 1, (p[1] ?? 1) - 1);
      case 'A':
        return move(this.r - count, this.c);
      case 'B':
        return move(this.r + count, this.c);
      case 'C':
        return move(this.r, this.c + count);
      case 'D':
        return move(this.r, this.c - count);
      case 'G':
      case '`':
        return move(this.r, count - 1);
      case 'E':
        return move(this.r + count, 0);
      case 'F':
        return move(this.r - count, 0);
      case 'd':
        return move(count - 1, this.c);
      case 'K': {
        const mode = p1 ?? 0;
        if (mode === 0) this.clearCells(this.r, this.c, this.cols);
        else if (mode === 1) this.clearCells(this.r, 0, this.c + 1);
        else this.clearCells(this.r, 0, this.cols);
        this.charge('erase', n);
        return;
      }
      case 'J': {
        const mode = p1 ?? 0;
        if (mode === 0) {
          this.clearCells(this.r, this.c, this.cols);
          for (let r = this.r + 1; r < this.rows; r++) this.clearCells(r, 0, this.cols);
        } else if (mode === 1) {
          for (let r = 0; r < this.r; r++) this.clearCells(r, 0, this.cols);
          this.clearCells(this.r, 0, this.c + 1);
        } else {
          for (let r = 0; r < this.rows; r++) this.clearCells(r, 0, this.cols);
          this.clears += 1;
        }
        this.charge('erase', n);
        return;
      }
      default:
        this.charge('other', n);
    }
  }
}

/** Follows a pty session's output into a Screen as it arrives (UTF-8 split across reads handled). */
export function followScreen(session, cols, rows) {
  const screen = new Screen(cols, rows);
  let pending = Buffer.alloc(0);
  const feedBuf = (buf) => {
    let data = pending.length ? Buffer.concat([pending, buf]) : buf;
    // keep an incomplete UTF-8 sequence at the end for the next read
    let cut = data.length;
    for (let i = data.length - 1; i >= Math.max(0, data.length - 3); i--) {
      const b = data[i];
      if (b < 0x80) break;
      if (b >= 0xc0) {
        const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
        if (i + need > data.length) cut = i;
        break;
      }
    }
    pending = data.subarray(cut);
    data = data.subarray(0, cut);
    screen.feed(data.toString('utf8'));
  };
  for (const c of session.chunks) feedBuf(c.buf);
  session.onChunk((c) => feedBuf(c.buf));
  return screen;
}
