/**
 * The dashboard's script, run in the browser (plain ES2017, no library, no build step).
 * It opens /events, applies `snapshot`, `update`, `peer-up`, `peer-down` and `links` to a
 * model, and redraws only what changed, at most every 50 ms. Every value reaches the page via
 * textContent or SVG attributes, never as HTML. The token (if any) comes from the page's own
 * address (?token=) and goes on the EventSource URL, since EventSource cannot set headers.
 */
export const DASHBOARD_SCRIPT = String.raw`
'use strict'
const $ = (sel, root) => (root || document).querySelector(sel)
const el = (tag, cls, text) => { const e = document.createElement(tag); if (cls) e.className = cls; if (text !== undefined) e.textContent = text; return e }
const SVG = 'http://www.w3.org/2000/svg'
const token = new URLSearchParams(location.search).get('token')
const query = token ? '?token=' + encodeURIComponent(token) : ''
const nodes = new Map()
const dirty = new Set()
const log = []
let skew = 0
let timer = null

function nodeOf(id) {
  let n = nodes.get(id)
  if (!n) { n = { nodeId: id, self: false, up: true, since: Date.now(), state: new Map(), history: new Map(), link: null, linkAt: 0 }; nodes.set(id, n) }
  return n
}
function touch(id) { dirty.add(id); if (!timer) timer = setTimeout(render, 50) }
function note(text) { log.unshift([Date.now(), text]); log.length = Math.min(log.length, 12); touch('') }

function fmt(v) {
  if (v === null) return 'null'
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(6)))
  if (typeof v === 'string') return v
  if (typeof v === 'boolean') return String(v)
  if (v && typeof v === 'object' && Object.keys(v).length === 1 && typeof v.$bytes === 'string') return Math.floor(v.$bytes.replace(/=+$/, '').length * 3 / 4) + ' bytes'
  return JSON.stringify(v)
}
function numeric(v) { return typeof v === 'number' ? v : typeof v === 'boolean' ? (v ? 1 : 0) : undefined }
function ago(ms) {
  const s = Math.max(0, ms) / 1000
  return s < 10 ? s.toFixed(1) + ' s' : s < 120 ? Math.round(s) + ' s' : s < 7200 ? Math.round(s / 60) + ' min' : Math.round(s / 3600) + ' h'
}

function record(n, key, v, t) {
  const x = numeric(v)
  if (x === undefined || !isFinite(x)) { n.history.delete(key); return }
  const pts = n.history.get(key) || []
  const last = pts[pts.length - 1]
  if (last && t - last[0] < 500) last[1] = x; else pts.push([t, x])
  if (pts.length > 120) pts.shift()
  n.history.set(key, pts)
}

function onSnapshot(s) {
  skew = Date.now() - s.time
  nodes.clear()
  $('#cluster').textContent = s.cluster
  $('#self').textContent = s.self
  for (const v of s.nodes) {
    const n = nodeOf(v.nodeId)
    Object.assign(n, { self: v.self, up: v.up, since: v.since + skew, downReason: v.downReason, link: v.link, linkAt: Date.now() })
    for (const k of Object.keys(v.state)) n.state.set(k, v.state[k])
    const h = (s.history || {})[v.nodeId] || {}
    for (const k of Object.keys(h)) n.history.set(k, h[k].map((p) => [p[0] + skew, p[1]]))
  }
  document.body.dataset.ready = 'true'
  dirty.add('*'); touch('')
}
function onUpdate(u) {
  const n = nodeOf(u.nodeId)
  if (u.deleted) { n.state.delete(u.key); n.history.delete(u.key) } else { n.state.set(u.key, u.value); record(n, u.key, u.value, u.time + skew) }
  touch(u.nodeId)
}
function onPeerUp(e) {
  const n = nodeOf(e.nodeId)
  Object.assign(n, { up: true, since: e.time + skew, downReason: undefined })
  note(e.nodeId + ' up (' + e.address + ')'); touch(e.nodeId)
}
function onPeerDown(e) {
  const n = nodeOf(e.nodeId)
  Object.assign(n, { up: false, since: e.time + skew, downReason: e.reason, link: null })
  n.state.clear()
  note(e.nodeId + ' down (' + e.reason + ')'); touch(e.nodeId)
}
function onLinks(l) {
  for (const p of l.peers) { const n = nodes.get(p.nodeId); if (n) { n.link = p; n.linkAt = Date.now() } }
  refreshLinks()
}
function refreshLinks() {
  for (const c of $('#nodes').children) { const n = nodes.get(c.dataset.node); if (n) $('.link', c).textContent = linkText(n) }
}

function spark(pts) {
  const svg = document.createElementNS(SVG, 'svg')
  svg.setAttribute('viewBox', '0 0 120 28'); svg.setAttribute('class', 'spark'); svg.setAttribute('aria-hidden', 'true')
  if (pts.length < 2) return svg
  const t0 = pts[0][0], t1 = pts[pts.length - 1][0] || t0 + 1
  let lo = Infinity, hi = -Infinity
  for (const p of pts) { lo = Math.min(lo, p[1]); hi = Math.max(hi, p[1]) }
  if (hi === lo) { hi += 1; lo -= 1 }
  const xy = pts.map((p) => ((p[0] - t0) / Math.max(1, t1 - t0) * 118 + 1).toFixed(1) + ',' + (26 - (p[1] - lo) / (hi - lo) * 24).toFixed(1))
  const line = document.createElementNS(SVG, 'polyline')
  line.setAttribute('points', xy.join(' '))
  svg.appendChild(line)
  const title = document.createElementNS(SVG, 'title')
  title.textContent = 'min ' + fmt(lo) + ', max ' + fmt(hi) + ' over ' + ago(t1 - t0)
  svg.appendChild(title)
  return svg
}

function linkText(n) {
  if (n.self) return 'serving this page'
  if (n.link) return n.link.address + ' · heard ' + ago(Date.now() - (n.linkAt - n.link.lastHeardMs)) + ' ago' + (n.link.missing ? ' · repairing ' + n.link.missing : '')
  return (n.up ? 'up' : 'down') + ' for ' + ago(Date.now() - n.since)
}

function card(n) {
  const c = el('section', 'card' + (n.up ? '' : ' down'))
  c.dataset.node = n.nodeId
  c.dataset.up = String(n.up)
  const head = el('header')
  head.append(el('span', 'dot'), el('h2', null, n.nodeId))
  if (n.self) head.append(el('span', 'badge', 'this node'))
  head.append(el('span', 'status', n.up ? 'up' : 'down' + (n.downReason ? ' (' + n.downReason + ')' : '')))
  c.append(head)
  c.append(el('p', 'link', linkText(n)))
  const keys = [...n.state.keys()].sort()
  if (keys.length === 0) c.append(el('p', 'empty', n.up ? 'no keys' : 'state dropped with the peer'))
  else {
    const table = el('table')
    const cols = el('colgroup')
    cols.append(el('col', 'k'), el('col', 'v'), el('col', 'c'))
    table.append(cols)
    for (const k of keys) {
      const v = n.state.get(k)
      const row = el('tr'); row.dataset.key = k
      const val = el('td', 'value', fmt(v)); val.title = typeof v === 'string' ? v : JSON.stringify(v)
      const pts = n.history.get(k)
      row.append(el('th', null, k), val)
      if (pts) { const chart = el('td', 'chart'); chart.append(spark(pts)); row.append(chart) } else val.colSpan = 2
      table.append(row)
    }
    c.append(table)
  }
  return c
}

function render() {
  timer = null
  const grid = $('#nodes')
  const order = [...nodes.values()].sort((a, b) => (b.self - a.self) || (b.up - a.up) || (a.nodeId < b.nodeId ? -1 : 1))
  const all = dirty.has('*')
  const existing = new Map([...grid.children].map((c) => [c.dataset.node, c]))
  for (const n of order) if (all || dirty.has(n.nodeId) || !existing.has(n.nodeId)) existing.set(n.nodeId, card(n))
  grid.replaceChildren(...order.map((n) => existing.get(n.nodeId)))
  const up = order.filter((n) => n.up).length
  $('#count').textContent = up + ' up' + (order.length > up ? ', ' + (order.length - up) + ' down' : '')
  const events = $('#events')
  events.replaceChildren(...log.map((e) => el('li', null, new Date(e[0]).toLocaleTimeString() + '  ' + e[1])))
  dirty.clear()
}

function connect() {
  const es = new EventSource('events' + query)
  es.onopen = () => { $('#live').textContent = 'live'; $('#live').className = 'live on' }
  es.onerror = () => { $('#live').textContent = 'reconnecting'; $('#live').className = 'live' }
  const on = (name, fn) => es.addEventListener(name, (m) => fn(JSON.parse(m.data)))
  on('snapshot', onSnapshot); on('update', onUpdate); on('peer-up', onPeerUp); on('peer-down', onPeerDown); on('links', onLinks)
}
for (const a of document.querySelectorAll('footer a')) a.href += query
// Ages tick on their own between events; only those texts change, not whole cards.
setInterval(refreshLinks, 1000)
connect()
`
