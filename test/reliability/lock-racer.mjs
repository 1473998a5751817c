// A process that races for a journal lock on command (test/reliability/lock-race.test.ts). It takes the real lock of
// the built aws package, holds it until told to release it, and answers over IPC, so the parent can count owners.
import { acquireJournalLock } from '@imdsv2-cutover/aws';

let held = null;

process.on('message', async (m) => {
  if (m.type === 'race') {
    // Start at the same wall-clock millisecond as the other racers.
    while (Date.now() < m.at) {
      /* spin */
    }
    try {
      held = await acquireJournalLock(m.journal);
      process.send({ type: 'raced', round: m.round, owner: true });
    } catch (e) {
      process.send({ type: 'raced', round: m.round, owner: false, code: e?.code ?? String(e) });
    }
  } else if (m.type === 'release') {
    await held?.release();
    held = null;
    process.send({ type: 'released', round: m.round });
  } else if (m.type === 'exit') {
    process.exit(0);
  }
});
process.send({ type: 'ready' });
