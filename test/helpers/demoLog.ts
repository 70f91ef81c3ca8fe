import { pathToFileURL } from 'node:url';
import { join } from 'node:path';

/**
 * A long ai-toolkit log made by the bench's generator (bench/lib/aitkLog.js, through the project's
 * tqdm port in dist/): sessions killed after a save and resumed, saves and samples, a postfix
 * every step. Needs `npm run build` (the test command builds first).
 */
export async function buildDemoLog(totalSteps = 1200, sessionSteps = 500): Promise<string> {
  const url = pathToFileURL(join(import.meta.dirname, '..', '..', 'bench', 'lib', 'aitkLog.js')).href;
  const { buildAitkLog } = (await import(url)) as { buildAitkLog(options: { totalSteps: number; sessionSteps: number }): { text: string } };
  return buildAitkLog({ totalSteps, sessionSteps }).text;
}
