// The one place the CLI reaches the mesh node and the identity store; tests pass fakes instead
// (CliDeps), so everything above this file runs without a network socket.
// Lazy require()s: only `dsn run` and `dsn id` evaluate the node, the crypto and CBOR code
// (esbuild keeps a require()d module unevaluated until the call).
import type { DsnOptions } from '../config'
import type { DsnNodeApi } from '../node/api'
import type { Identity } from './context'

export function realStartNode(options: DsnOptions): Promise<DsnNodeApi> {
  const { DSNode } = require('../node/dsnode') as typeof import('../node/dsnode')
  return DSNode.start(options)
}

export function realLoadIdentity(credentialDir: string): Identity {
  const { loadOrCreateIdentity } = require('../seal/identity') as typeof import('../seal/identity')
  return loadOrCreateIdentity(credentialDir)
}
