import { Box } from 'ink';
import type { ThemeName } from '../theme.js';
import type { ViewLine } from '../viewModel.js';
import { Lines } from './Lines.js';

/** The full-screen sample view and the side-by-side comparison: lines only, laid out by the model. */
export function Gallery({ lines, theme, cols }: { lines: ViewLine[]; theme: ThemeName; cols: number }) {
  return (
    <Box flexDirection="column" width={cols} height={lines.length}>
      <Lines lines={lines} theme={theme} width={cols} height={lines.length} />
    </Box>
  );
}
