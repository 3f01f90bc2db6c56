// Lists the failed assertions of the last `tap` run, after its summary, so that the tail of a
// CI log names what failed (tap's raw TAP output puts a failure somewhere among 7,000 lines).
// Reads tap's own per-file results under .tap/test-results; todo and skip are not failures.
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'

const ROOT = '.tap/test-results'
const DIAGNOSTIC_LINES = 12

function* files(dir) {
  for (const name of readdirSync(dir)) {
    const full = join(dir, name)
    if (statSync(full).isDirectory()) yield* files(full)
    else if (name.endsWith('.tap')) yield full
  }
}

/** Each failed point with the subtests it sits in and the start of its YAML diagnostic. */
function failures(text) {
  const lines = text.split('\n')
  const found = []
  const open = [] // subtest names by depth
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]
    const depth = line.match(/^ */)[0].length / 4
    const subtest = line.match(/^\s*# Subtest: (.*)$/)
    if (subtest) {
      open.length = depth
      open[depth] = subtest[1]
      continue
    }
    const failed = line.match(/^\s*not ok \d+ - (.*)$/)
    if (!failed || /# (TODO|SKIP)\b/i.test(line)) continue
    const diagnostic = lines[i + 1]?.trim() === '---' ? summarise(lines, i + 2) : []
    found.push({ path: [...open.slice(0, depth), failed[1].replace(/ # time=.*$/, '')].join(' > '), diagnostic })
  }
  // A parent subtest fails because a child did: keep only the innermost.
  return found.filter((f) => !found.some((g) => g !== f && g.path.startsWith(`${f.path} > `)))
}

/**
 * The YAML block from `start` to its `...`, shortened: where it failed as file:line, then what
 * tells why (diff, found, wanted, error, ...), without the stack and source listing.
 */
function summarise(lines, start) {
  const out = []
  const indent = (lines[start] ?? '').match(/^ */)[0].length
  let skipping = false
  let file = ''
  for (let j = start; j < lines.length && lines[j].trim() !== '...' && out.length < DIAGNOSTIC_LINES; j++) {
    const line = lines[j]
    const key = line.length - line.trimStart().length === indent ? line.trim().match(/^([\w-]+):/)?.[1] : undefined
    if (key !== undefined) skipping = key === 'at' || key === 'stack' || key === 'source'
    const at = line.trim().match(/^(fileName|lineNumber): (.*)$/)
    if (at && skipping) {
      if (at[1] === 'fileName') file = at[2]
      else out.push(`at: ${file}:${at[2]}`)
    }
    if (!skipping && line.trim() !== '') out.push(line.slice(indent))
  }
  return out
}

let all
try {
  all = [...files(ROOT)]
} catch {
  console.log(`test-failures: no ${ROOT} to read`)
  process.exit(0)
}
let count = 0
for (const file of all.sort()) {
  const failed = failures(readFileSync(file, 'utf8'))
  if (failed.length === 0) continue
  console.log(`# failed in ${relative(ROOT, file).replace(/\.tap$/, '')}:`)
  for (const f of failed) {
    count++
    console.log(`#   not ok - ${f.path}`)
    for (const d of f.diagnostic) console.log(`#     ${d}`)
  }
}
console.log(`# test-failures: ${count} failed assertion${count === 1 ? '' : 's'} in .tap/test-results`)
