/** Parses a tqdm interval (`SS`, `MM:SS`, `H:MM:SS`, hours unbounded: `177:04:17`) into seconds. */
export function parseInterval(text: string): number | null {
  if (!/^\d+(?::\d{1,2}){0,2}$/.test(text)) return null;
  let seconds = 0;
  for (const part of text.split(':')) seconds = seconds * 60 + Number(part);
  return seconds;
}
