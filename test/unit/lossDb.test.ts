import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLossDb } from '../../src/sources/lossDb.js';

// loss_log.db as ai-toolkit's UI logger writes it: WAL mode, steps / metric_keys / metrics.

let root: string;
beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'lora-top-lossdb-'));
});
afterAll(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

function makeDb(folder: string, rows: number): Database.Database {
  const db = new Database(path.join(folder, 'loss_log.db'));
  db.pragma('journal_mode = WAL');
  db.exec(`
    CREATE TABLE steps(step INTEGER PRIMARY KEY, wall_time REAL);
    CREATE TABLE metric_keys(key TEXT PRIMARY KEY, first_seen_step INTEGER, last_seen_step INTEGER);
    CREATE TABLE metrics(step INTEGER, key TEXT, value_real REAL, value_text TEXT, PRIMARY KEY(step, key),
      FOREIGN KEY(step) REFERENCES steps(step) ON DELETE CASCADE);
    CREATE INDEX idx_metrics_key_step ON metrics(key, step);`);
  const step = db.prepare('INSERT INTO steps VALUES (?, ?)');
  const metric = db.prepare('INSERT INTO metrics VALUES (?, ?, ?, NULL)');
  db.transaction(() => {
    for (let i = 1; i <= rows; i++) {
      step.run(i, 1_700_000_000 + i);
      metric.run(i, 'loss/loss', 1 / i);
      metric.run(i, 'learning_rate', 1e-4);
    }
  })();
  return db;
}

describe('loss_log.db', () => {
  it('reads the loss series in step order while the trainer holds it open', async () => {
    const folder = fs.mkdtempSync(path.join(root, 'ok-'));
    const writer = makeDb(folder, 50);
    try {
      const result = await readLossDb(folder);
      expect(result.ok).toBe(true);
      if (!result.ok) return;
      expect(result.points).toHaveLength(50);
      expect(result.points[0]).toEqual({ step: 1, loss: 1 });
      expect(result.points[49]!.step).toBe(50);
    } finally {
      writer.close();
    }
  });

  it('answers a locked database with a reason, never an exception', async () => {
    const folder = fs.mkdtempSync(path.join(root, 'locked-'));
    const writer = makeDb(folder, 5);
    writer.pragma('locking_mode = EXCLUSIVE');
    writer.exec('BEGIN EXCLUSIVE');
    try {
      const result = await readLossDb(folder);
      expect(result).toEqual({ ok: false, reason: 'loss_log.db is locked' });
    } finally {
      writer.exec('COMMIT');
      writer.close();
    }
  });

  it('answers a corrupt or missing database with a reason', async () => {
    const folder = fs.mkdtempSync(path.join(root, 'corrupt-'));
    expect(await readLossDb(folder)).toEqual({ ok: false, reason: 'no loss_log.db' });
    fs.writeFileSync(path.join(folder, 'loss_log.db'), Buffer.alloc(4096, 7));
    const result = await readLossDb(folder);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(/^loss_log\.db unreadable: /);
  });
});
