import { memo } from 'react';
import { Box, Text } from 'ink';

/** One row, already styled; React skips it when its text is unchanged. */
const Row = memo(function Row({ text }: { text: string }) {
  return <Text wrap="truncate-end">{text.length === 0 ? ' ' : text}</Text>;
});

/**
 * The composed screen (see compose.ts) as Ink elements: one text node per row. On a real terminal
 * the rows go to the frame writer directly instead; this is what tests and other React hosts see.
 */
export function Screen({ rows, cols }: { rows: string[]; cols: number }) {
  return (
    <Box flexDirection="column" width={Math.max(1, cols)} height={Math.max(1, rows.length)}>
      {rows.map((text, i) => (
        <Row key={i} text={text} />
      ))}
    </Box>
  );
}
