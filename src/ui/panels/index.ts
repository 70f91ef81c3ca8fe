import { checkpointsPanel } from './checkpoints.js';
import { confirmPanel } from './confirm.js';
import { footerPanel } from './footer.js';
import { gpuPanel } from './gpu.js';
import { headerPanel } from './header.js';
import { helpPanel } from './help.js';
import { logPanel } from './log.js';
import { lossPanel } from './loss.js';
import type { Panel } from './panel.js';
import { progressPanel } from './progress.js';
import { samplesPanel } from './samples.js';
import { speedPanel } from './speed.js';

/**
 * The one list of the dashboard's panels, in screen order within each place (top to bottom, then
 * the overlays by precedence). Layout, building and composition all iterate it; a new panel is one
 * module and one line here.
 */
export const PANELS: readonly Panel[] = [
  headerPanel,
  progressPanel,
  lossPanel,
  speedPanel,
  gpuPanel,
  checkpointsPanel,
  samplesPanel,
  logPanel,
  footerPanel,
  confirmPanel,
  helpPanel,
];

export type { Panel } from './panel.js';
