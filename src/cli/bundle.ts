// The entry of dist/dsn.cjs: run as a program it is the `dsn` CLI; required, it is the
// library (the same exports as dist/lib/index.js), so one file serves both on a board.
import { runCli } from './main'

export * from '../index'

if (require.main === module) runCli()
