import { createHash } from 'node:crypto'

/**
 * The receiver report carried by heartbeats (docs/PROTOCOL.md 13.2-13.3): one byte of flags, then per
 * peer a 16-bit tag of its node id and the fraction of its multicast heard, x 255. Three bytes a
 * peer keeps the heartbeat of a 10-node cluster under 100 bytes.
 */

/** Bytes per report entry: a 16-bit id tag and a ratio in 1/255 steps. */
export const REPORT_ENTRY_BYTES = 3
/** At most this many entries in one report; past that the report rotates and is marked partial. */
export const REPORT_MAX_ENTRIES = 64
/** Bit 0 of the report's first byte: every live peer is listed (absence means "not heard"). */
export const REPORT_COMPLETE = 1

const tags = new Map<string, number>()

/** A node id's 16-bit tag in reports. Collisions are resolved conservatively by readers (see readReport). */
export function reportTag(nodeId: string): number {
  let tag = tags.get(nodeId)
  if (tag === undefined) {
    const h = createHash('sha256').update('dsn receiver report\0').update(nodeId).digest()
    tag = (h[0] << 8) | h[1]
    if (tags.size >= 4096) tags.clear() // bounded: ids come from the network
    tags.set(nodeId, tag)
  }
  return tag
}

export interface ReportEntry {
  nodeId: string
  /** 0..1; null (not heard lately by any path) is reported as 0. */
  ratio: number | null
}

/**
 * [flags][tag hi, tag lo, ratio x 255]... At most REPORT_MAX_ENTRIES entries: with more live
 * peers, `offset` rotates through them and the report is partial (absence then tells nothing).
 */
export function encodeReport(entries: readonly ReportEntry[], offset = 0): Uint8Array {
  const n = Math.min(entries.length, REPORT_MAX_ENTRIES)
  const complete = n === entries.length
  const out = new Uint8Array(1 + REPORT_ENTRY_BYTES * n)
  out[0] = complete ? REPORT_COMPLETE : 0
  for (let i = 0; i < n; i++) {
    const e = entries[(offset + i) % entries.length]
    const tag = reportTag(e.nodeId)
    const at = 1 + REPORT_ENTRY_BYTES * i
    out[at] = tag >> 8
    out[at + 1] = tag & 0xff
    out[at + 2] = Math.round(Math.max(0, Math.min(1, e.ratio ?? 0)) * 255)
  }
  return out
}

/** No report in this heartbeat. */
export const NO_REPORT = new Uint8Array(0)

/** Whether a report is well formed (the frame decoder's check); empty is "no report". */
export function validReport(bytes: Uint8Array): boolean {
  if (bytes.length === 0) return true
  return (bytes.length - 1) % REPORT_ENTRY_BYTES === 0 && (bytes.length - 1) / REPORT_ENTRY_BYTES <= REPORT_MAX_ENTRIES && bytes[0] <= REPORT_COMPLETE
}

export type ReportReading =
  /** We are listed: the reporter hears this fraction of our multicast. */
  | { kind: 'listed'; ratio: number }
  /** A complete report without us: the reporter does not hear us at all (or not yet). */
  | { kind: 'absent' }
  /** A partial report without us, or no report: it tells nothing about us. */
  | { kind: 'unknown' }

/** What a peer's report says about `self`. Two entries with our tag (a collision): the lower counts, so a collision can add unicast copies, never remove them. */
export function readReport(bytes: Uint8Array, self: string): ReportReading {
  if (bytes.length === 0 || !validReport(bytes)) return { kind: 'unknown' }
  const tag = reportTag(self)
  let ratio: number | null = null
  for (let at = 1; at < bytes.length; at += REPORT_ENTRY_BYTES) {
    if (((bytes[at] << 8) | bytes[at + 1]) !== tag) continue
    const r = bytes[at + 2] / 255
    ratio = ratio === null ? r : Math.min(ratio, r)
  }
  if (ratio !== null) return { kind: 'listed', ratio }
  return (bytes[0] & REPORT_COMPLETE) !== 0 ? { kind: 'absent' } : { kind: 'unknown' }
}

