import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc16, keySlot, slotPartition, SLOT_COUNT } from '../../../services/shared/slot';
import { slotTag, slotTagTable } from '../../../services/shared/slot-tags';

/** Ground truth: CLUSTER KEYSLOT replies of a real Redis 7.0.15 node (see test/fixtures/slots/capture-keyslot.js). */
const capture = JSON.parse(readFileSync(join(__dirname, '../../fixtures/slots/keyslot-redis-7.0.15.json'), 'utf8')) as {
  keys: [string, number][];
};

describe('keySlot', () => {
  test('agrees with CLUSTER KEYSLOT from a real server for 10,000 keys, hash-tag edge cases and binary keys included', () => {
    expect(capture.keys).toHaveLength(10000);
    const mismatches = capture.keys.filter(([b64, slot]) => keySlot(Buffer.from(b64, 'base64')) !== slot);
    expect(mismatches).toEqual([]);
  });

  test('the capture covers the hash-tag edge cases', () => {
    const keys = new Set(capture.keys.map(([b64]) => Buffer.from(b64, 'base64').toString('latin1')));
    for (const k of ['{}', '{a}{b}', '{', '}{', 'foo{}{bar}']) expect(keys.has(k)).toBe(true);
  });

  test('CRC16-XMODEM of "123456789" is 0x31C3 (the check value of the algorithm)', () => {
    expect(crc16(Buffer.from('123456789'))).toBe(0x31c3);
  });

  test('a non-empty hash tag decides the slot; an empty one does not', () => {
    expect(keySlot('{user1000}.following')).toBe(keySlot('user1000'));
    expect(keySlot('foo{}{bar}')).toBe(crc16(Buffer.from('foo{}{bar}')) % SLOT_COUNT);
    expect(keySlot('foo{{bar}}zap')).toBe(keySlot('{bar'));
  });

  test('strings hash as UTF-8 bytes', () => {
    expect(keySlot('été')).toBe(keySlot(Buffer.from('été', 'utf8')));
  });
});

describe('slot tags', () => {
  test('every slot has a tag of 1 to 3 characters of [0-9a-zA-Z] that hashes back to it', () => {
    const table = slotTagTable();
    expect(table).toHaveLength(SLOT_COUNT);
    const wrong = table.map((tag, slot) => ({ tag, slot })).filter(({ tag, slot }) => !/^[0-9a-zA-Z]{1,3}$/.test(tag) || keySlot(`__tandem:{${tag}}:o:x`) !== slot);
    expect(wrong).toEqual([]);
  });

  test('slotTag rejects slots outside 0..16383', () => {
    expect(() => slotTag(-1)).toThrow(RangeError);
    expect(() => slotTag(SLOT_COUNT)).toThrow(RangeError);
    expect(slotTag(0)).toBe(slotTagTable()[0]);
  });
});

describe('slotPartition', () => {
  test('floor(slot × P / 16384): contiguous slot ranges, every partition used, slot order kept', () => {
    const P = 64;
    const parts = Array.from({ length: SLOT_COUNT }, (_, s) => slotPartition(s, P));
    expect(parts[0]).toBe(0);
    expect(parts[SLOT_COUNT - 1]).toBe(P - 1);
    expect(new Set(parts).size).toBe(P);
    expect(parts.every((p, s) => s === 0 || p >= parts[s - 1])).toBe(true);
    expect(slotPartition(8191, 3)).toBe(1);
  });
});
