// Topic names and the escaping of ids and keys into single topic levels (src/mqtt/topics.ts).
import t from 'tap'
import { escapeKey, escapeLevel, Topics, unescapeLevel } from '../../src/mqtt/topics'

t.test('plain ids and keys read as themselves', async (t) => {
  const topics = new Topics('dsn', 'home')
  t.equal(topics.value('sensor_kitchen', 'temperature'), 'dsn/home/sensor_kitchen/temperature')
  t.equal(topics.status('sensor_kitchen'), 'dsn/home/sensor_kitchen/status')
  t.equal(topics.bridge('hub'), 'dsn/home/$bridge/hub')
  t.equal(topics.commandFilter('hub'), 'dsn/home/hub/set/+')
  t.equal(topics.value('n', 'température °C'), 'dsn/home/n/température °C', 'UTF-8 is kept')
})

t.test('/ + # % $ and control characters are percent-encoded', async (t) => {
  t.equal(escapeLevel('a/b'), 'a%2Fb')
  t.equal(escapeLevel('a+b#c'), 'a%2Bb%23c')
  t.equal(escapeLevel('100%'), '100%25')
  t.equal(escapeLevel('$SYS'), '%24SYS', 'a leading $ is escaped')
  t.equal(escapeLevel('a$b'), 'a$b', 'a $ inside is not')
  t.equal(escapeLevel('a\u0000b\nc\u0085'), 'a%00b%0Ac%C2%85')
  t.equal(escapeKey('status'), '%73tatus', 'a key named status cannot be taken for the status topic')
  t.equal(escapeKey('statuses'), 'statuses')
  t.equal(escapeLevel('status'), 'status', 'node ids are not reserved words')
})

t.test('unescape undoes escape for every kind of key', async (t) => {
  const keys = ['plain', 'a/b/c', '+', '#', '%', '%25', '$x', 'status', '%73tatus', 'é/ü', 'a\u0001', '🙂+/', 'set']
  for (const key of keys) {
    const level = escapeKey(key)
    t.notMatch(level, /[/+#]/, `${JSON.stringify(key)} -> ${level}: one level, no wildcard`)
    t.equal(unescapeLevel(level), key, `${JSON.stringify(key)} round-trips`)
  }
  t.equal(unescapeLevel('%E0%A4%A'), undefined, 'a malformed escape is refused')
})

t.test('commandKey finds the key of a command to this node only', async (t) => {
  const topics = new Topics('dsn', 'home')
  t.equal(topics.commandKey('hub', 'dsn/home/hub/set/target'), 'target')
  t.equal(topics.commandKey('hub', 'dsn/home/hub/set/a%2Fb'), 'a/b')
  t.equal(topics.commandKey('hub', 'dsn/home/other/set/target'), undefined, 'never another node')
  t.equal(topics.commandKey('hub', 'dsn/home/hub/set/'), undefined)
  t.equal(topics.commandKey('hub', 'dsn/home/hub/target'), undefined)
  t.equal(topics.commandKey('hub', 'dsn/home/hub/set/a/b'), undefined)
})
