// The keeper's program (see promiseKeeper.ts): `node dist/bundle/keeper.mjs`, started by lora-top only.
import { keeperMain } from './keeperProcess.js';

keeperMain().catch(() => process.exit(70));
