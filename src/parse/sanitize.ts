/**
 * Strips terminal control sequences from text that came from a log, a config or a file name,
 * so that nothing a trainer (or an attacker) wrote can move the cursor, retitle the window,
 * write the clipboard or open a link in the user's terminal.
 *
 * Removed: CSI (`ESC [` … final byte, and the 8-bit `\x9b` form), OSC (`ESC ]` / `\x9d` … BEL or ST),
 * DCS, SOS, PM and APC strings (`ESC P|X|^|_` / `\x90 \x98 \x9e \x9f` … ST), every other two-byte
 * escape, every C1 control (U+0080–U+009F) and every C0 control except TAB, which becomes a space.
 */

// One alternation, applied once: string-type sequences first (they swallow their payload up to the
// terminator, or to the end of the text when it is cut off), then CSI, then any other escape.
const CONTROL_SEQUENCE =
  // eslint-disable-next-line no-control-regex
  /(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?|(?:\x1b\[|\x9b)[\x20-\x3f]*[\x40-\x7e]?|\x1b[\x20-\x2f]*[\x30-\x7e]?|[\x00-\x08\x0a-\x1f\x7f-\x9f]/g;

// eslint-disable-next-line no-control-regex
const HAS_CONTROL = /[\x00-\x08\x0a-\x1f\x7f-\x9f]/;

export function stripControlSequences(text: string): string {
  if (!HAS_CONTROL.test(text)) return text.includes('\t') ? text.replace(/\t/g, ' ') : text;
  return text.replace(CONTROL_SEQUENCE, '').replace(/\t/g, ' ');
}
