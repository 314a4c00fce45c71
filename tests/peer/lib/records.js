'use strict';
// The peer's memory: one sequence counter shared by every record kind
// ("requests", "events", "uploads"), so `since=SEQ` works across kinds and
// records of different kinds can be ordered. Long-poll waiters are resolved
// here as soon as a matching record (or any custom condition) appears.

const { performance } = require('node:perf_hooks');

const MAX_RECORDS = 100000; // per kind; oldest dropped first

class Records {
  constructor() {
    this.t0 = performance.now();
    this.seq = 0;
    this.lists = { requests: [], events: [], uploads: [] };
    this.waiters = new Set();
  }

  now() {
    return Math.round((performance.now() - this.t0) * 1000) / 1000;
  }

  // Append a record of `kind`; fields are copied in after seq and t_ms.
  push(kind, fields) {
    const rec = { seq: ++this.seq, t_ms: this.now(), ...fields };
    const list = this.lists[kind];
    list.push(rec);
    if (list.length > MAX_RECORDS) list.splice(0, list.length - MAX_RECORDS);
    this.poke();
    return rec;
  }

  list(kind, filter = {}) {
    return this.lists[kind].filter((r) => matches(r, filter));
  }

  clear() {
    for (const k of Object.keys(this.lists)) this.lists[k] = [];
  }

  // Re-check every waiter (call after any change a waiter might look at).
  poke() {
    for (const w of [...this.waiters]) {
      const result = w.check();
      if (result !== undefined) w.finish(result);
    }
  }

  // Resolve with check()'s first non-undefined result, or with undefined on timeout.
  // Returns { promise, cancel }.
  waitUntil(check, timeoutMs) {
    let waiter;
    const promise = new Promise((resolve) => {
      const first = check();
      if (first !== undefined) { resolve(first); return; }
      const timer = setTimeout(() => waiter.finish(undefined), timeoutMs);
      waiter = {
        check,
        finish: (v) => { clearTimeout(timer); this.waiters.delete(waiter); resolve(v); },
      };
      this.waiters.add(waiter);
    });
    return { promise, cancel: () => waiter && waiter.finish(undefined) };
  }

  // Wait for the first record of `kind` with seq > filter.since matching filter.
  waitRecord(kind, filter, timeoutMs) {
    return this.waitUntil(() => this.lists[kind].find((r) => matches(r, filter)), timeoutMs);
  }
}

// filter keys: since (seq >), path (prefix), anything else must be equal
// (compared as strings, so query-string values work).
function matches(rec, filter) {
  for (const [key, want] of Object.entries(filter)) {
    if (want === undefined || want === null || want === '') continue;
    if (key === 'since') {
      if (!(rec.seq > Number(want))) return false;
    } else if (key === 'path') {
      if (typeof rec.path !== 'string' || !rec.path.startsWith(want)) return false;
    } else if (String(rec[key]) !== String(want)) {
      return false;
    }
  }
  return true;
}

module.exports = { Records, matches };
