// Prints every message of the console's locale files (src/locales/*.ts) as JSON, for
// tests/test_locales.py: {"common.ts": {"zh": {"app.name": "枫桥", …}, "en": {…}}, …}.
// Each file is compiled with the project's TypeScript and imported as a module.
import { readFileSync, readdirSync } from 'node:fs'
import ts from 'typescript'

const dir = new URL('../src/locales/', import.meta.url)

function flatten(tree, prefix = '', out = {}) {
  for (const [key, value] of Object.entries(tree)) {
    const path = prefix ? `${prefix}.${key}` : key
    if (value !== null && typeof value === 'object') flatten(value, path, out)
    else out[path] = value
  }
  return out
}

const found = {}
for (const name of readdirSync(dir).filter((f) => f.endsWith('.ts')).sort()) {
  const source = readFileSync(new URL(name, dir), 'utf8')
  const { outputText } = ts.transpileModule(source, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  })
  const module = await import(`data:text/javascript;base64,${Buffer.from(outputText).toString('base64')}`)
  const { zh, en } = module.default ?? {}
  found[name] = { zh: flatten(zh ?? {}), en: flatten(en ?? {}) }
}
process.stdout.write(JSON.stringify(found))
