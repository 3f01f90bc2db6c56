import { readFileSync } from 'node:fs'
import * as path from 'node:path'

// Replaced by the bundler (scripts/build.mjs: define); tsx and dist/lib read package.json instead.
declare const __DSN_VERSION__: string | undefined

export function version(): string {
  if (typeof __DSN_VERSION__ === 'string') return __DSN_VERSION__
  for (const up of ['../..', '../../..']) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(__dirname, up, 'package.json'), 'utf8')) as { name?: string; version?: string }
      if (pkg.name === 'distributed-state-network' && pkg.version) return pkg.version
    } catch {
      // not there: try the next
    }
  }
  return '0.0.0-dev'
}
