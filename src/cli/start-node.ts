// The one place the CLI reaches the mesh node and the identity store.
//
// LEAD: once src/node/dsnode.ts and src/seal/identity.ts exist, replace the two require()
// lookups below with
//   import { DSNode } from '../node/dsnode'
//   import { loadOrCreateIdentity } from '../seal/identity'
// and make realStartNode = (options) => DSNode.start(options), realLoadIdentity = loadOrCreateIdentity.
// Until then the lookups keep `tsc` clean; esbuild bundles the modules as soon as they exist
// (an unresolvable require() inside try/catch is left alone), and `dsn run` says what is missing.
import type { DsnOptions } from '../config'
import type { DsnNodeApi } from '../node/api'
import type { Identity } from './context'

interface DsNodeModule {
  DSNode: { start(options: DsnOptions): Promise<DsnNodeApi> }
}

interface IdentityModule {
  loadOrCreateIdentity(credentialDir: string): Identity
}

function loadDsNode(): DsNodeModule | undefined {
  try {
    return require('../node/dsnode') as DsNodeModule
  } catch (err) {
    if (!isMissing(err, 'dsnode')) throw err
    return undefined
  }
}

function loadIdentityModule(): IdentityModule | undefined {
  try {
    return require('../seal/identity') as IdentityModule
  } catch (err) {
    if (!isMissing(err, 'identity')) throw err
    return undefined
  }
}

// Only "that module is absent" is swallowed; an error inside it must surface.
function isMissing(err: unknown, name: string): boolean {
  const e = err as NodeJS.ErrnoException
  return e?.code === 'MODULE_NOT_FOUND' && String(e.message).includes(name)
}

export function realStartNode(options: DsnOptions): Promise<DsnNodeApi> {
  const mod = loadDsNode()
  if (!mod) return Promise.reject(new Error('this build of dsn has no mesh node (src/node/dsnode.ts was not built in)'))
  return mod.DSNode.start(options)
}

export function realLoadIdentity(credentialDir: string): Identity {
  const mod = loadIdentityModule()
  if (!mod) throw new Error('this build of dsn cannot read identities offline (src/seal/identity.ts was not built in); start the daemon and run `dsn id` again')
  return mod.loadOrCreateIdentity(credentialDir)
}
