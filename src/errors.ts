/**
 * Errors a user can cause carry a stable `code` to switch on. What the network causes
 * (junk, replays, forgeries) is never thrown: it is dropped and counted (see core/counters.ts).
 */
export type DsnErrorCode =
  | 'DSN_BAD_CONFIG' // a config field is missing, of the wrong type or out of range
  | 'DSN_BAD_KEY' // a state key is empty, not a string, or too long
  | 'DSN_BAD_VALUE' // a value cannot be encoded as CBOR
  | 'DSN_VALUE_TOO_LARGE' // an encoded value is over maxValueBytes
  | 'DSN_TOO_MANY_KEYS' // this node already holds maxKeysPerNode keys
  | 'DSN_STATE_TOO_LARGE' // this node's whole state would exceed maxStateBytes
  | 'DSN_PORT_IN_USE' // the unicast port is taken by another process
  | 'DSN_NO_INTERFACE' // the configured interface does not exist or has no IPv4 address
  | 'DSN_SOCKET' // any other socket error at start
  | 'DSN_IDENTITY' // the credential dir or the identity file in it is unusable
  | 'DSN_UNKNOWN_PEER' // a direct message to a node that is not up
  | 'DSN_SEND_TIMEOUT' // a direct message was not acknowledged in time
  | 'DSN_MESSAGE_TOO_LARGE' // a direct message does not fit in one datagram
  | 'DSN_STOPPED' // the node was stopped
  | 'DSN_PERSIST' // the own-state file (persistPath) cannot be written

export class DsnError extends Error {
  readonly code: DsnErrorCode

  constructor(code: DsnErrorCode, message: string) {
    super(message)
    this.name = 'DsnError'
    this.code = code
  }
}

export function configError(field: string, problem: string): DsnError {
  return new DsnError('DSN_BAD_CONFIG', `config.${field}: ${problem}`)
}
