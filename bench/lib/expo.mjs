// The two pieces of @latchkey/expo that cold-restore needs, loaded without react-native.
//
// The package entry re-exports the React Native bindings, which plain Node cannot import (Flow
// syntax in react-native), so the storage adapter is imported from its built module directly.
// The expo-secure-store fake lives in the package's test support (TypeScript, not built); it is
// transpiled once with the workspace's TypeScript into a temporary folder and imported from there,
// so the benchmark uses the same fake the package's own tests use.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import ts from 'typescript'

const expoDir = fileURLToPath(new URL('../../packages/expo/', import.meta.url))

export async function loadSecureStoreStorage() {
  const mod = await import(pathToFileURL(join(expoDir, 'dist', 'storage', 'secure-store-storage.js')).href)
  return mod.createSecureStoreStorage
}

export async function loadFakeSecureStore() {
  const source = readFileSync(join(expoDir, 'src', 'test-support', 'fake-secure-store.ts'), 'utf8')
  const { outputText } = ts.transpileModule(source, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: false },
  })
  if (/^\s*import\s+(?!type\b)/m.test(outputText)) throw new Error('fake-secure-store.ts gained a runtime import; bench/lib/expo.mjs needs updating')
  const dir = join(os.tmpdir(), `latchkey-bench-${process.pid}`)
  mkdirSync(dir, { recursive: true })
  const file = join(dir, 'fake-secure-store.mjs')
  writeFileSync(file, outputText)
  const mod = await import(pathToFileURL(file).href)
  return mod.createFakeSecureStore
}
