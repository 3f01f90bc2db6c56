// The entry of dist/dsn.cjs: run as a program it is the `dsn` CLI; required, it is the
// library (the same exports as dist/lib/index.js), so one file serves both on a board.
// Both sides are require()d here, not imported: esbuild then wraps each as a lazily evaluated
// module, so `dsn set` never evaluates the mesh node, and `require('dsn.cjs')` never the CLI.
if (require.main === module) {
  ;(require('./main') as typeof import('./main')).runCli()
} else {
  module.exports = require('../index') as typeof import('../index')
}
