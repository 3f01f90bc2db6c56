import type { Daemon as DaemonType } from '../../daemon/daemon'
import type { RunFlags } from '../../daemon/run-config'
import { DEFAULT_SOCKET } from '../../daemon/socket-path'
import type { Command } from '../context'
import { exitCodeFor, exitTableText } from '../exit-codes'

export const run: Command = {
  name: 'run',
  args: '',
  summary: 'run the daemon (config file + environment)',
  get details() {
    const { RELOADABLE } = require('../../daemon/daemon') as typeof import('../../daemon/daemon')
    const { envTable } = require('../../daemon/env') as typeof import('../../daemon/env')
    return [
      'Runs one mesh node and its control socket until SIGTERM or SIGINT, which say goodbye to',
      'the mesh and exit 0. SIGHUP re-reads the config file and environment and applies what it',
      `can without a restart (${RELOADABLE.join(', ')}); it logs what changed that needs a restart.`,
      '',
      'Config: defaults < JSON file (--config or DSN_CONFIG) < environment. The file holds the',
      'library\'s options (nodeId, cluster, port, group, interface, unicastPort, staticPeers,',
      'multicast, mdns, credentialDir, allowedKeys, heartbeatIntervalMs, peerTimeoutMs, ...) plus',
      '"logLevel", "socket" and "networkKeyFile" (a path, relative to the file), and "http",',
      '"httpToken", "httpTokenFile" (metrics and dashboard, see DSN_HTTP below). Example:',
      '  {"nodeId": "kitchen", "networkKeyFile": "network.key", "staticPeers": ["10.0.0.9:47475"]}',
      'An "mqtt" object bridges the state to an MQTT broker, with Home Assistant discovery:',
      '  {"mqtt": {"url": "mqtt://broker.lan:1883", "username": "dsn", "passwordFile": "mqtt-password"}}',
      '(fields: url, username, passwordFile, caFile, topicPrefix, clientId, discovery,',
      'discoveryPrefix, commands; or the DSN_MQTT_* variables below).',
      'The network key is never logged. Environment (an empty variable counts as unset):',
      envTable(),
      '',
      'Logs: one JSON object per line on stdout ({"ts","level","msg",...}); msg is one of starting,',
      'started, first-heartbeat, http-listening, peer-up, peer-down, update (debug), reloaded, stopping, stopped,',
      'start-failed, mqtt-starting, mqtt-connected, mqtt-disconnected, and warnings/errors. Control socket: mode 0660 in a 0750 directory',
      `(default ${DEFAULT_SOCKET}); a stale socket from a crash is removed, a live daemon refused.`,
      '',
      'Exit status:',
      exitTableText(),
    ].join('\n')
  },
  flags: {
    config: { type: 'string', short: 'c', value: 'FILE', help: 'JSON config file (default: DSN_CONFIG)' },
  },
  minArgs: 0,
  maxArgs: 0,
  async run({ io, deps, flags }) {
    // Lazy: the client commands (set, get, watch...) share this file's list but not the daemon.
    const { Daemon } = require('../../daemon/daemon') as typeof import('../../daemon/daemon')
    const { Logger, errorFields } = require('../../daemon/logger') as typeof import('../../daemon/logger')
    const { loadRunSettings } = require('../../daemon/run-config') as typeof import('../../daemon/run-config')
    const runFlags: RunFlags = {
      config: typeof flags.config === 'string' ? flags.config : undefined,
      socket: typeof flags.socket === 'string' ? flags.socket : undefined,
    }
    // A copy for SIGHUP: the key is removed from the live environment once read (below).
    const env = { ...io.env }
    const logger = new Logger(io.out)
    let daemon: DaemonType
    try {
      const settings = loadRunSettings(runFlags, env)
      logger.level = settings.logLevel
      if (io.env === process.env) delete process.env.DSN_NETWORK_KEY
      if (io.env === process.env) delete process.env.DSN_HTTP_TOKEN
      daemon = await Daemon.start(settings, { startNode: deps.startNode, reloadSettings: () => loadRunSettings(runFlags, env), logger, version: deps.version, handleSignals: deps.handleSignals })
    } catch (err) {
      const code = exitCodeFor(err)
      logger.error('start-failed', { ...errorFields(err instanceof Error ? err : new Error(String(err))), exitCode: code })
      io.err(`dsn run: ${err instanceof Error ? err.message : String(err)}\n`)
      return code
    }
    io.onStdoutClosed?.(() => logger.warn('stdout-closed', { then: 'logging to stderr; still serving' }))
    const exit = await daemon.done
    return exit.error ? 1 : 0
  },
}
