import { Box, Text } from 'ink';
import type { Layout } from '../layout.js';
import type { ThemeName } from '../theme.js';
import type { ViewModel } from '../viewModel.js';
import { Lines } from './Lines.js';

/** Lays the view's panels out as the layout says. No logic beyond placement. */
export function Dashboard({ view, layout, theme, showHelp }: { view: ViewModel | null; layout: Layout; theme: ThemeName; showHelp: boolean }) {
  if (layout.kind === 'tooSmall') {
    return (
      <Box width={Math.max(1, layout.cols)} height={Math.max(1, Math.min(4, layout.rows - 1))} flexDirection="column" overflow="hidden">
        <Text wrap="wrap">
          terminal too small: need {layout.needCols}×{layout.needRows}, have {layout.cols}×{layout.rows}
        </Text>
        {layout.rows > 2 ? (
          <Text wrap="truncate-end" dimColor>
            q quits
          </Text>
        ) : null}
      </Box>
    );
  }
  if (view === null) return null;
  const { rows, cols, twoColumns, mainWidth, sideWidth } = layout;
  const middleRows = rows.loss + rows.speed + rows.log + (twoColumns ? 0 : rows.gpu + rows.samples);
  return (
    <Box flexDirection="column" width={cols} height={layout.height}>
      <Lines lines={view.header} theme={theme} width={cols} height={rows.header} />
      <Lines lines={view.progress} theme={theme} width={cols} height={rows.progress} />
      {view.confirm.length > 0 ? (
        <Lines lines={view.confirm} theme={theme} width={cols} height={middleRows} />
      ) : showHelp ? (
        <Lines lines={view.help} theme={theme} width={cols} height={middleRows} />
      ) : (
        <>
          {twoColumns ? (
            <Box flexDirection="row" height={rows.loss}>
              <Lines lines={view.loss} theme={theme} width={mainWidth} height={rows.loss} />
              <Box width={1} />
              <Box flexDirection="column" width={sideWidth} height={rows.loss}>
                <Lines lines={view.gpu} theme={theme} width={sideWidth} height={rows.gpu} />
                <Lines lines={view.samples} theme={theme} width={sideWidth} height={rows.samples} />
              </Box>
            </Box>
          ) : (
            <Lines lines={view.loss} theme={theme} width={cols} height={rows.loss} />
          )}
          <Lines lines={view.speed} theme={theme} width={cols} height={rows.speed} />
          {twoColumns ? null : <Lines lines={view.gpu} theme={theme} width={cols} height={rows.gpu} />}
          {twoColumns ? null : <Lines lines={view.samples} theme={theme} width={cols} height={rows.samples} />}
          <Lines lines={view.log} theme={theme} width={cols} height={rows.log} />
        </>
      )}
      <Lines lines={[view.footer]} theme={theme} width={cols} height={rows.footer} />
    </Box>
  );
}
