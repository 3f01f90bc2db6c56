/**
 * MQTT topic names for the bridge, and the escaping that keeps one dsn id or key in one topic level.
 *
 *   <prefix>/<cluster>/<node>/<key>        retained JSON value; an empty retained payload clears it
 *   <prefix>/<cluster>/<node>/status       retained `online` / `offline` (peer-up / peer-down)
 *   <prefix>/<cluster>/$bridge/<node>      retained `online` / `offline` of the bridge run by <node>
 *                                          (its MQTT last will says `offline`)
 *   <prefix>/<cluster>/<node>/set/<key>    commands to <node>'s own keys (only with mqtt.commands)
 *
 * Escaping (also in the README, "Home Assistant and MQTT"): in a level made from a cluster, node id or key, the characters
 * `%`, `/`, `+`, `#`, U+0000-U+001F and U+007F-U+009F become `%XX` per UTF-8 byte (uppercase hex),
 * as in URLs, and so does a `$` that starts the level (`$` levels are the broker's and ours).
 * A key named exactly `status` is written `%73tatus`, so it cannot be taken for the status topic.
 * Every other character, UTF-8 included, is kept, so ordinary ids and keys read as themselves;
 * unescapeLevel() undoes escapeLevel() exactly. Node ids and clusters are [A-Za-z0-9_.-] today:
 * for them the escaping only guards against what another implementation might send.
 */

const ESCAPED = /[%/+#\u0000-\u001f\u007f-\u009f]|^\$/gu
const STATUS_LEVEL = 'status'
export const BRIDGE_LEVEL = '$bridge'

export const ONLINE = 'online'
export const OFFLINE = 'offline'

function percent(ch: string): string {
  return [...Buffer.from(ch, 'utf8')].map((b) => '%' + b.toString(16).toUpperCase().padStart(2, '0')).join('')
}

/** One topic level from an id or key: never holds `/`, `+`, `#`, nor starts with `$`. */
export function escapeLevel(text: string): string {
  return text.replace(ESCAPED, percent)
}

/** A key's level: escapeLevel(), and the reserved name `status` escaped too. */
export function escapeKey(key: string): string {
  const level = escapeLevel(key)
  return level === STATUS_LEVEL ? percent('s') + level.slice(1) : level
}

/** The inverse of escapeLevel/escapeKey; undefined for a malformed `%` sequence. */
export function unescapeLevel(level: string): string | undefined {
  if (!level.includes('%')) return level
  try {
    return decodeURIComponent(level)
  } catch {
    return undefined
  }
}

/** The topics of one cluster under one prefix. */
export class Topics {
  private readonly base: string

  constructor(prefix: string, cluster: string) {
    this.base = `${prefix}/${escapeLevel(cluster)}`
  }

  value(node: string, key: string): string {
    return `${this.base}/${escapeLevel(node)}/${escapeKey(key)}`
  }

  status(node: string): string {
    return `${this.base}/${escapeLevel(node)}/${STATUS_LEVEL}`
  }

  bridge(node: string): string {
    return `${this.base}/${BRIDGE_LEVEL}/${escapeLevel(node)}`
  }

  /** The filter the bridge subscribes to for commands (one key level, any key). */
  commandFilter(node: string): string {
    return `${this.base}/${escapeLevel(node)}/set/+`
  }

  /** The key a command topic addresses, or undefined when the topic is not a command to `node`. */
  commandKey(node: string, topic: string): string | undefined {
    const head = `${this.base}/${escapeLevel(node)}/set/`
    if (!topic.startsWith(head)) return undefined
    const level = topic.slice(head.length)
    if (level === '' || level.includes('/')) return undefined
    return unescapeLevel(level)
  }
}
