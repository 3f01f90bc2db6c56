/** Wire constants. The message-type enum is append-only: never renumber, only add. */
/** 3: heartbeats carry the multicast count and a receiver report (docs/PROTOCOL.md 13.2-13.3).
 * 4: receiver MACs are HChaCha20 of the frame's SHA-256 under the pair key, not HMAC (3.2).
 * 5: MAC entries lose their 1-byte hint: 6 bytes each, the receiver compares its MAC with all (3.2).
 * 6: a body carries each value as a byte string of its encoding, which receivers hash as is (6.1). */
export const PROTOCOL_VERSION = 6

export const enum MessageType {
  Heartbeat = 1,
  Data = 2,
  Nack = 3,
  Ping = 4,
  Goodbye = 5,
  Message = 6,
  Ack = 7,
  /** Addresses of peers heard by unicast, so static-peer clusters meet without multicast. */
  Peers = 8,
}

/** Body kinds carried (possibly fragmented) by Data datagrams. */
export const enum BodyKind {
  Delta = 0,
  Snapshot = 1,
}

/** Digest length in bytes: 64 bits of XORed SHA-256 entry hashes. */
export const DIGEST_BYTES = 8
