import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI } from '../helpers/sim.js';
import { sshUnavailable, startSshd, type PrivateSshd } from '../helpers/sshd.js';
import { hasTmux, startTmux } from '../helpers/tmux.js';

// The dashboard over a real SSH session (`ssh -tt` to a private sshd on 127.0.0.1) into an
// environment with no LANG, as a container on a rented GPU box gives one: the terminal on the
// person's desk is UTF-8 (here tmux, LANG=C.UTF-8), the remote locale says nothing, and the sample
// picture must still be drawn, in half blocks.

let sshd: PrivateSshd | null = null;

beforeAll(async () => {
  if (!sshUnavailable && hasTmux) sshd = await startSshd();
}, 30_000);
afterAll(async () => {
  await sshd?.stop();
});

const quote = (arg: string) => `'${arg.replace(/'/g, `'\\''`)}'`;

describe.skipIf(sshUnavailable !== null || !hasTmux)(`over SSH${sshUnavailable ? ` (skipped: ${sshUnavailable})` : ''}`, () => {
  it('no LANG on the remote side: the picture is drawn in half blocks, not left blank', async () => {
    const t = startTmux(process.cwd(), 120, 40);
    try {
      await t.waitFor((s) => s.includes('PROMPT$'));
      // What runs remotely: say the locale it got, then the dashboard on the built-in demo.
      const remote = `echo "remote LANG=[$LANG] LC_ALL=[$LC_ALL] LC_CTYPE=[$LC_CTYPE]"; exec ${quote(process.execPath)} ${quote(CLI)} --demo`;
      t.type(`ssh -tt ${sshd!.sshArgs().map(quote).join(' ')} ${quote(remote)}; echo "EXIT=$?"`);
      t.send('Enter');
      const screen = await t.waitFor((s) => s.includes('── Samples') && s.includes('▄'), 60_000);
      expect(screen).toContain('demo_flux_lora');
      // Braille for the loss, blocks for the picture: not the ASCII fallback.
      expect(screen).toMatch(/[\u2800-\u28ff]/);
      expect(screen).not.toContain('-- Loss');
      t.send('q');
      const after = await t.waitFor((s) => s.includes('EXIT=0'), 20_000);
      expect(after).toContain('remote LANG=[] LC_ALL=[] LC_CTYPE=[]');
    } finally {
      t.kill();
    }
  }, 90_000);
});
