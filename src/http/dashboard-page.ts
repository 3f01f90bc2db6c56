import { createHash } from 'node:crypto'
import { DASHBOARD_SCRIPT } from './dashboard-script'

/**
 * GET /: one self-contained page (no CDN, no font, no image: it must work on a LAN with no
 * internet), light or dark as the device prefers, one column on a phone. The Content-Security-
 * Policy admits exactly this script and this style (by hash) and connections to this origin.
 */
const STYLE = `
:root { color-scheme: light dark; --bg: #f4f5f7; --card: #fff; --ink: #1d2330; --mute: #6b7280; --line: #e3e6eb; --up: #16a34a; --down: #9ca3af; --accent: #2563eb; }
@media (prefers-color-scheme: dark) { :root { --bg: #0f1320; --card: #181d2d; --ink: #e6e9f0; --mute: #8d96a8; --line: #262d40; --accent: #60a5fa; } }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background: var(--bg); color: var(--ink); }
header.top { display: flex; flex-wrap: wrap; align-items: baseline; gap: .4rem 1rem; padding: .9rem 1rem; background: var(--card); border-bottom: 1px solid var(--line); position: sticky; top: 0; z-index: 1; }
header.top h1 { font-size: 1.1rem; margin: 0; }
header.top .meta { color: var(--mute); font-size: .9rem; }
.live { margin-left: auto; font-size: .8rem; padding: .1rem .5rem; border-radius: 1rem; background: var(--line); color: var(--mute); }
.live.on { background: color-mix(in srgb, var(--up) 18%, transparent); color: var(--up); }
main { padding: 1rem; max-width: 80rem; margin: 0 auto; }
#nodes { display: grid; grid-template-columns: repeat(auto-fill, minmax(19rem, 1fr)); gap: 1rem; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: .75rem; padding: .8rem 1rem; min-width: 0; }
.card header { display: flex; align-items: center; gap: .5rem; }
.card h2 { font-size: 1.05rem; margin: 0; overflow-wrap: anywhere; }
.dot { width: .65rem; height: .65rem; border-radius: 50%; background: var(--up); flex: none; box-shadow: 0 0 0 3px color-mix(in srgb, var(--up) 20%, transparent); }
.down .dot { background: var(--down); box-shadow: none; }
.down { opacity: .7; }
.badge { font-size: .72rem; padding: .05rem .45rem; border-radius: 1rem; background: color-mix(in srgb, var(--accent) 16%, transparent); color: var(--accent); }
.status { margin-left: auto; font-size: .8rem; color: var(--mute); }
.link, .empty { color: var(--mute); font-size: .82rem; margin: .25rem 0 .5rem; overflow-wrap: anywhere; }
table { width: 100%; border-collapse: collapse; table-layout: fixed; }
tr + tr { border-top: 1px solid var(--line); }
th, td { padding: .35rem 0; vertical-align: middle; }
col.k { width: 36%; } col.c { width: 7.5rem; }
th { text-align: left; font-weight: 500; color: var(--mute); overflow: hidden; text-overflow: ellipsis; white-space: nowrap; padding-right: .5rem; }
td.value { font-variant-numeric: tabular-nums; font-weight: 600; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; padding-right: .5rem; }
.spark { width: 7.5rem; height: 1.75rem; display: block; }
.spark polyline { fill: none; stroke: var(--accent); stroke-width: 1.6; stroke-linejoin: round; stroke-linecap: round; vector-effect: non-scaling-stroke; }
#events { list-style: none; padding: 0; margin: 1.2rem 0 0; color: var(--mute); font-size: .82rem; font-variant-numeric: tabular-nums; }
#events li { padding: .1rem 0; white-space: pre; }
footer { color: var(--mute); font-size: .78rem; padding: 0 1rem 1.5rem; text-align: center; }
footer a { color: inherit; }
@media (max-width: 30rem) { main { padding: .6rem; } #nodes { gap: .6rem; } }
`

export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>dsn cluster</title>
<style>${STYLE}</style>
</head>
<body>
<header class="top"><h1>dsn · <span id="cluster">…</span></h1><span class="meta">via <span id="self">…</span> · <span id="count">connecting</span></span><span id="live" class="live">connecting</span></header>
<main><div id="nodes"></div><ul id="events"></ul></main>
<footer>Read-only view of the cluster · <a href="metrics">metrics</a> · <a href="state">state</a></footer>
<script>${DASHBOARD_SCRIPT}</script>
</body>
</html>
`

const hash = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`

export const DASHBOARD_CSP = [
  "default-src 'none'",
  `script-src ${hash(DASHBOARD_SCRIPT)}`,
  `style-src ${hash(STYLE)}`,
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ')
