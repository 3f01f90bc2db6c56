import type { Engine } from '../core/engine'
import { decodeValue } from '../core/values'
import { DsnError } from '../errors'
import type { RestoreReport } from './api'
import { loadState, saveState } from './persist'

/** Puts the saved own state back into a fresh engine; every problem is a warning, never fatal. */
export function restoreOwnState(engine: Engine, file: string): RestoreReport {
  const nodeId = engine.config.nodeId
  const report: RestoreReport = { file, keys: 0, warnings: [] }
  const loaded = loadState(file, nodeId)
  if (loaded.status === 'none') return report
  if (loaded.status === 'set-aside') {
    report.warnings.push(`state file ${file} not restored: ${loaded.reason}; ${loaded.setAside ? `moved to ${loaded.setAside}` : 'left in place'}; starting with an empty state`)
    engine.counters.add('persist.set-aside')
    return report
  }
  for (const { key, bytes } of loaded.entries) {
    try {
      // Decoded as a receiver decodes: within the budget for its bytes (a file can be edited).
      engine.set(key, decodeValue(bytes))
      report.keys++
    } catch (err) {
      // maxKeysPerNode, maxValueBytes... may have been lowered since the file was written.
      report.warnings.push(`state file ${file}: key ${JSON.stringify(key)} not restored: ${(err as Error).message}`)
    }
  }
  engine.counters.add('persist.restored-keys', report.keys)
  return report
}

/**
 * Writes the own state at most every intervalMs after a change, and on flush() (stop). The
 * timer is unref'd: a pending save never keeps a process alive, and stop() flushes it anyway.
 */
export class StateSaver {
  private timer: NodeJS.Timeout | null = null
  private dirty = false

  constructor(
    private readonly engine: Engine,
    private readonly file: string,
    private readonly intervalMs: number,
    private readonly onError: (err: Error) => void,
  ) {}

  changed(): void {
    this.dirty = true
    if (this.timer) return
    this.timer = setTimeout(() => this.flush(), this.intervalMs)
    this.timer.unref()
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    if (!this.dirty) return
    this.dirty = false
    try {
      const bytes = saveState(this.file, this.engine.config.nodeId, this.engine.own.all())
      this.engine.counters.add('persist.saves')
      this.engine.counters.add('persist.bytes', bytes)
    } catch (err) {
      // A full or read-only disk must not stop the node: say so, and try again on the next change.
      this.engine.counters.add('persist.errors')
      this.onError(new DsnError('DSN_PERSIST', `cannot write the state file ${this.file}: ${(err as Error).message}`))
    }
  }
}
