// The one place the CLI reaches the mesh node and the identity store; tests pass fakes instead
// (CliDeps), so everything above this file runs without a network socket.
import type { DsnOptions } from '../config'
import type { DsnNodeApi } from '../node/api'
import { DSNode } from '../node/dsnode'
import { loadOrCreateIdentity } from '../seal/identity'
import type { Identity } from './context'

export function realStartNode(options: DsnOptions): Promise<DsnNodeApi> {
  return DSNode.start(options)
}

export function realLoadIdentity(credentialDir: string): Identity {
  return loadOrCreateIdentity(credentialDir)
}
