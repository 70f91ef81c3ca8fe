import { memo } from 'react';
import { Box, Text } from 'ink';
import { styleFor, type ThemeName } from '../theme.js';
import type { ViewLine } from '../viewModel.js';

/** One styled line, cut at the panel's edge. */
export const Line = memo(function Line({ line, theme }: { line: ViewLine; theme: ThemeName }) {
  if (line.length === 0) return <Text> </Text>;
  return (
    <Text wrap="truncate-end">
      {line.map((run, i) => (
        <Text key={i} {...styleFor(theme, run.style)}>
          {run.text}
        </Text>
      ))}
    </Text>
  );
});

/** A panel: exactly `height` rows of `width` columns, whatever its lines. */
export function Lines({ lines, theme, width, height }: { lines: ViewLine[]; theme: ThemeName; width: number; height: number }) {
  if (height <= 0) return null;
  return (
    <Box flexDirection="column" width={width} height={height} overflow="hidden">
      {lines.slice(0, height).map((line, i) => (
        <Line key={i} line={line} theme={theme} />
      ))}
    </Box>
  );
}
