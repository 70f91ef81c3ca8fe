import { memo } from 'react';
import { Box, Text } from 'ink';
import { lineToAnsi } from '../ansi.js';
import type { ThemeName } from '../theme.js';
import type { ViewLine } from '../viewModel.js';

/** One line, already styled; React skips it when its text is unchanged. */
const Line = memo(function Line({ text }: { text: string }) {
  return <Text wrap="truncate-end">{text.length === 0 ? ' ' : text}</Text>;
});

/**
 * A panel: exactly `height` rows of `width` columns. The view model already cut every line to its
 * width, so the box does not clip (Ink's clipping re-slices every line on every frame).
 */
export function Lines({ lines, theme, width, height }: { lines: ViewLine[]; theme: ThemeName; width: number; height: number }) {
  if (height <= 0) return null;
  return (
    <Box flexDirection="column" width={width} height={height}>
      {lines.slice(0, height).map((line, i) => (
        <Line key={i} text={lineToAnsi(line, theme)} />
      ))}
    </Box>
  );
}
