import type { HttpServer, HttpServerOptions } from '../http/server'

/**
 * Starts the HTTP listener when `http` is configured. src/http is reached only through this
 * require() inside a function: esbuild then wraps it as a module evaluated on first call, so a
 * daemon without `http` never evaluates node:http, the dashboard or the metrics code (the bytes
 * stay in the one bundle file; start time and memory do not pay for them).
 */
export function startHttpServer(options: HttpServerOptions): Promise<HttpServer> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { HttpServer: Server } = require('../http/server') as typeof import('../http/server')
  return Server.start(options)
}

export type { HttpServer }
