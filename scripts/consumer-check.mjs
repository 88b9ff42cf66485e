#!/usr/bin/env node
// The adopter's path, checked (issue 16): pack @latchkey/core and @latchkey/expo, make a fresh app
// from the Expo SDK 57 template on npm, install the tarballs, write the README snippets into it
// verbatim, then a strict `tsc --noEmit`, `expo export` for web, the web build in Chromium against
// the real server (the app on http://localhost:8081 as `expo start --web` serves it, the API where
// the README's .env line says: sign up, reload, sign out), `expo export` for Android and iOS
// (Hermes bytecode) and `expo prebuild` twice (the second run must change nothing; the plugin's
// manifest and Info.plist entries are checked). Exit 1 on any failure. `.ci/run` runs it after `npm test`.
//
// Snippets: a fenced block whose first line is `// src/<path>.ts(x)` (a comment may follow the
// path) is written to that path as it stands; the block below `<!-- consumer-check: app.json -->`
// is merged into app.json; the `npx expo install …` lines below `<!-- consumer-check: install -->`
// are run (`@latchkey/*` names from the packed tarballs with `npm install`: `expo install` writes
// `"undefined"` for a tarball path). The same path claimed twice must have the same text.
//
//   node scripts/consumer-check.mjs [--fresh] [--sizes FILE]
//     --fresh         ignore the cache (~/.cache/latchkey-consumer, or LATCHKEY_CONSUMER_CACHE)
//     --sizes FILE    also export minified JS (no bytecode) with source maps for each platform and
//                     write the bytes each package contributes to FILE (JSON)
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { homedir } from 'node:os'
import { dirname, extname, join, normalize, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { bytesBySource, packageOf } from './consumer-sizes.mjs'

const TEMPLATE = 'expo-template-default@57.0.28' // the default template of SDK 57
const root = fileURLToPath(new URL('..', import.meta.url))
const args = process.argv.slice(2)
const fresh = args.includes('--fresh')
const sizesFile = args.includes('--sizes') ? args[args.indexOf('--sizes') + 1] : undefined
const cache = process.env.LATCHKEY_CONSUMER_CACHE ?? join(homedir(), '.cache', 'latchkey-consumer')
// A fixed app directory (inside the cache) keeps node_modules and Metro's cache warm between runs.
const app = join(cache, 'app')
const timings = []
const started = Date.now()

async function step(name, fn) {
  const t0 = Date.now()
  process.stderr.write(`consumer-check: ${name}…\n`)
  const result = await fn()
  timings.push([name, (Date.now() - t0) / 1000])
  return result
}

function run(cmd, argv, opts = {}) {
  try {
    return execFileSync(cmd, argv, {
      cwd: app, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20,
      ...opts, env: { ...process.env, CI: '1', EXPO_NO_TELEMETRY: '1', ...opts.env },
    })
  } catch (err) {
    throw new Error(`${cmd} ${argv.join(' ')} failed (exit ${err.status}):\n${String(err.stdout ?? '').slice(-4000)}\n${String(err.stderr ?? '').slice(-4000)}`, { cause: err })
  }
}

function fail(message) {
  throw new Error(message)
}

/** Every file under `dir` (relative paths), skipping `skip` names at any depth. */
function walk(dir, skip = new Set(), base = dir, out = []) {
  for (const name of readdirSync(dir)) {
    if (skip.has(name)) continue
    const p = join(dir, name)
    if (statSync(p).isDirectory()) walk(p, skip, base, out)
    else out.push(relative(base, p))
  }
  return out.sort()
}

/** A digest of the native projects. Expo's own iOS icon step gives its Xcode objects new ids on every run, so ids are masked. */
function nativeTreeDigest() {
  const h = createHash('sha256')
  for (const dir of ['android', 'ios']) {
    for (const file of walk(join(app, dir), new Set(['build', 'Pods', '.gradle']))) {
      let text = readFileSync(join(app, dir, file), 'latin1')
      if (file.endsWith('.pbxproj')) text = text.replace(/\b[0-9A-F]{24}\b/g, 'ID')
      h.update(`${dir}/${file}\0${text}\0`)
    }
  }
  for (const file of ['package.json', 'app.json']) h.update(`${file}\0${readFileSync(join(app, file))}\0`)
  return h.digest('hex')
}

// ---- the snippets, from the READMEs ----

function extractSnippets() {
  const files = new Map() // path → text
  const appJson = []
  const installs = []
  const envLines = []
  for (const readme of ['README.md', 'packages/expo/README.md']) {
    const text = readFileSync(join(root, readme), 'utf8')
    for (const m of text.matchAll(/(?:^<!-- consumer-check: ([\w.]+) -->\n)?^```(\w*)\n([\s\S]*?)^```$/gm)) {
      const [, marker, , body] = m
      if (marker === 'app.json') appJson.push(JSON.parse(body))
      else if (marker === 'install') {
        installs.push(...body.split('\n').filter((l) => l.startsWith('npx expo install ')))
        for (const [, line] of body.matchAll(/^echo '([^']*)' >> \.env$/gm)) envLines.push(line)
      }
      else if (marker) fail(`${readme}: unknown marker consumer-check: ${marker}`)
      const path = /^\/\/ (src\/[\w./()[\]-]+\.tsx?)(?:[ :(].*)?$/.exec(body.split('\n')[0])?.[1]
      if (!path) continue
      if (files.has(path) && files.get(path) !== body) fail(`${path} is shown twice with different text (${readme})`)
      files.set(path, body)
    }
  }
  const need = ['src/session.ts', 'src/app/_layout.tsx', 'src/app/sign-in.tsx', 'src/app/(app)/index.tsx', 'src/auth-store.ts']
  for (const p of need) if (!files.has(p)) fail(`no README snippet for ${p} (a block whose first line is "// ${p}")`)
  if (appJson.length === 0) fail('no README block marked <!-- consumer-check: app.json -->')
  if (appJson.some((b) => JSON.stringify(b) !== JSON.stringify(appJson[0]))) fail('the READMEs show different app.json blocks')
  if (installs.length === 0) fail('no README block marked <!-- consumer-check: install --> with an `npx expo install` line')
  if (!envLines.some((l) => l.startsWith('EXPO_PUBLIC_API_URL='))) fail("no `echo 'EXPO_PUBLIC_API_URL=…' >> .env` line in an install block")
  return { files, appJson, installs, env: envLines }
}

// ---- the web build against the real server, as `npx expo start --web` would run it ----

/** A static server for the exported web build (Expo Router's static output: /sign-in → sign-in.html). */
function serveStatic(dir, port) {
  const types = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.json': 'application/json', '.png': 'image/png', '.ico': 'image/x-icon', '.ttf': 'font/ttf' }
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname)
    const candidates = [path, `${path}.html`, join(path, 'index.html'), '/+not-found.html'].map((p) => join(dir, normalize(p)))
    const file = candidates.find((f) => f.startsWith(dir) && existsSync(f) && statSync(f).isFile())
    res.writeHead(file ? 200 : 404, { 'content-type': types[extname(file ?? '')] ?? 'application/octet-stream' })
    res.end(file ? readFileSync(file) : '')
  })
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => resolve(server))
  })
}

async function webFlow(snippets) {
  // The API where the README's .env line says it is; the app where `expo start --web` serves it.
  const apiUrl = new URL(snippets.env.find((l) => l.startsWith('EXPO_PUBLIC_API_URL=')).slice('EXPO_PUBLIC_API_URL='.length))
  const appUrl = 'http://localhost:8081'
  const { buildPackages } = await import('./build-if-stale.mjs')
  buildPackages(['core', 'server'])
  const { startServer, silentLogger } = await import('@latchkey/server')
  const { chromium } = await import('playwright-core')
  const api = await startServer({ port: Number(apiUrl.port), host: '127.0.0.1', dataDir: 'memory://', logger: silentLogger, pruneInterval: 0 })
    .catch((err) => fail(`cannot start the API on ${apiUrl.origin} (the README's .env): ${err.message}`))
  const web = await serveStatic(join(app, 'dist/web'), 8081).catch(async (err) => {
    await api.close()
    fail(`cannot serve the app on ${appUrl}: ${err.message}`)
  })
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  })
  let page
  const errors = []
  try {
    page = await browser.newPage()
    page.on('pageerror', (e) => errors.push(String(e)))
    const email = `consumer-${Date.now()}@example.com`
    await page.goto(`${appUrl}/`)
    await page.getByPlaceholder('Email').fill(email)
    await page.getByPlaceholder('Password').fill('correct horse battery staple')
    await page.getByText('Create an account').click()
    await page.getByText(`Signed in as ${email}`).waitFor({ timeout: 60_000 })
    await page.reload()
    await page.getByText(`Signed in as ${email}`).waitFor({ timeout: 60_000 })
    await page.getByText('Sign out').click()
    await page.getByPlaceholder('Email').waitFor({ timeout: 60_000 })
    await page.reload()
    await page.getByPlaceholder('Email').waitFor({ timeout: 60_000 })
    if (errors.length > 0) fail(`the page threw: ${errors.join('; ')}`)
  } catch (err) {
    const shown = await page?.locator('body').innerText().catch(() => '')
    throw new Error(`the web build did not sign in, restore and sign out against the server: ${err.message}\n  page shows: ${JSON.stringify(shown?.slice(0, 500))}${errors.length ? `\n  page errors: ${errors.join('; ')}` : ''}`, { cause: err })
  } finally {
    await browser.close()
    await new Promise((r) => web.close(r))
    await api.close()
  }
}

// ---- the run ----

async function main() {
  const snippets = extractSnippets()
  if (fresh) rmSync(cache, { recursive: true, force: true })
  mkdirSync(cache, { recursive: true })

  const tgzDir = join(cache, 'tarballs')
  const tarballs = await step('npm pack @latchkey/core and @latchkey/expo', () => {
    rmSync(tgzDir, { recursive: true, force: true })
    mkdirSync(tgzDir)
    const out = {}
    for (const name of ['core', 'expo']) {
      const json = run('npm', ['pack', '--json', '--pack-destination', tgzDir], { cwd: join(root, 'packages', name) })
      out[`@latchkey/${name}`] = join(tgzDir, JSON.parse(json.slice(json.indexOf('[')))[0].filename)
    }
    return out
  })

  await step(`the app from ${TEMPLATE}`, () => {
    const tgz = join(cache, `${TEMPLATE.replace('@', '-')}.tgz`)
    if (!existsSync(tgz)) {
      const json = run('npm', ['pack', TEMPLATE, '--json', '--pack-destination', cache], { cwd: cache })
      const file = JSON.parse(json.slice(json.indexOf('[')))[0].filename
      if (join(cache, file) !== tgz) cpSync(join(cache, file), tgz)
    }
    mkdirSync(app, { recursive: true })
    for (const name of readdirSync(app)) if (name !== 'node_modules') rmSync(join(app, name), { recursive: true, force: true })
    run('tar', ['xzf', tgz, '--strip-components=1', '-C', app])
    // What create-expo-app does after unpacking.
    for (const [from, to] of [['gitignore', '.gitignore'], ['_vscode', '.vscode']]) {
      if (!existsSync(join(app, from))) continue
      cpSync(join(app, from), join(app, to), { recursive: true })
      rmSync(join(app, from), { recursive: true })
    }
    const pkg = JSON.parse(readFileSync(join(app, 'package.json'), 'utf8'))
    pkg.name = 'latchkey-consumer'
    // The registry here lacks a version some expo-constants releases need: pin it as the repo does.
    const pins = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).overrides ?? {}
    pkg.overrides = {}
    for (const [name, version] of Object.entries(pins)) {
      if (pkg.dependencies[name]) pkg.dependencies[name] = version
      pkg.overrides[name] = pkg.dependencies[name] ? `$${name}` : version
    }
    writeFileSync(join(app, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`)
    // `expo start` writes this on first run; tsc needs it for the template's CSS imports.
    writeFileSync(join(app, 'expo-env.d.ts'), '/// <reference types="expo/types" />\n')
  })

  await step('npm install (the template)', () => {
    const key = createHash('sha256').update(readFileSync(join(app, 'package.json'))).update(process.version).digest('hex').slice(0, 16)
    const lock = join(cache, `package-lock-${key}.json`)
    if (existsSync(lock)) cpSync(lock, join(app, 'package-lock.json'))
    run('npm', ['install', '--no-audit', '--no-fund'])
    if (!existsSync(lock)) cpSync(join(app, 'package-lock.json'), lock)
  })

  await step('install Latchkey as the README says', () => {
    const words = snippets.installs.flatMap((l) => l.replace(/^npx expo install /, '').split(/\s+/)).filter(Boolean)
    const ours = words.filter((w) => w.startsWith('@latchkey/'))
    for (const name of ['@latchkey/core', '@latchkey/expo']) if (!ours.includes(name)) fail(`the README's install line misses ${name}`)
    run('npm', ['install', '--no-audit', '--no-fund', ...ours.map((n) => tarballs[n] ?? fail(`unknown package ${n}`))])
    // Offline: versions from the installed expo's bundledNativeModules.json, no Expo API call.
    run('npx', ['expo', 'install', ...words.filter((w) => !w.startsWith('@latchkey/'))], { env: { EXPO_OFFLINE: '1' } })
  })

  await step('write the README snippets', () => {
    // The template's starter screens make way for the README's routes.
    for (const f of ['src/app/index.tsx', 'src/app/explore.tsx']) rmSync(join(app, f), { force: true })
    for (const [path, text] of snippets.files) {
      mkdirSync(dirname(join(app, path)), { recursive: true })
      writeFileSync(join(app, path), text)
    }
    writeFileSync(join(app, '.env'), snippets.env.map((l) => `${l}\n`).join(''))
    const config = JSON.parse(readFileSync(join(app, 'app.json'), 'utf8'))
    for (const block of snippets.appJson) {
      for (const plugin of block.expo?.plugins ?? []) {
        const name = Array.isArray(plugin) ? plugin[0] : plugin
        config.expo.plugins = config.expo.plugins.filter((p) => (Array.isArray(p) ? p[0] : p) !== name).concat([plugin])
      }
    }
    // prebuild asks for these when they are missing; a newcomer types them at its prompt.
    config.expo.ios = { ...config.expo.ios, bundleIdentifier: 'dev.latchkey.consumer' }
    config.expo.android = { ...config.expo.android, package: 'dev.latchkey.consumer' }
    writeFileSync(join(app, 'app.json'), `${JSON.stringify(config, null, 2)}\n`)
  })

  await step('tsc --noEmit (strict)', () => {
    const tsconfig = JSON.parse(readFileSync(join(app, 'tsconfig.json'), 'utf8'))
    if (tsconfig.compilerOptions?.strict !== true) fail('the template tsconfig is no longer strict')
    run('npx', ['tsc', '--noEmit', '-p', 'tsconfig.json'])
  })

  await step('expo export --platform web', () => {
    rmSync(join(app, 'dist'), { recursive: true, force: true })
    run('npx', ['expo', 'export', '--platform', 'web', '--output-dir', 'dist/web'])
    const js = walk(join(app, 'dist/web/_expo/static/js/web')).filter((f) => f.endsWith('.js'))
    if (js.length === 0) fail('no web bundle')
    if (!existsSync(join(app, 'dist/web/sign-in.html'))) fail('no static page for the sign-in route')
  })

  await step('the web build in Chromium: sign up, reload (restored by the refresh cookie), sign out', () => webFlow(snippets))

  await step('expo export --platform android --platform ios (Hermes bytecode)', () => {
    run('npx', ['expo', 'export', '--platform', 'android', '--platform', 'ios', '--output-dir', 'dist/native'])
    for (const os of ['android', 'ios']) {
      const hbc = walk(join(app, 'dist/native/_expo/static/js', os)).filter((f) => f.endsWith('.hbc'))
      if (hbc.length === 0) fail(`no Hermes bytecode for ${os}`)
      const magic = readFileSync(join(app, 'dist/native/_expo/static/js', os, hbc[0])).readBigUInt64LE(0)
      if (magic !== 0x1f1903c103bc1fc6n) fail(`${os}: ${hbc[0]} is not Hermes bytecode`)
    }
  })

  await step('expo prebuild --no-install, twice', () => {
    for (const dir of ['android', 'ios']) rmSync(join(app, dir), { recursive: true, force: true })
    run('npx', ['expo', 'prebuild', '--no-install'])
    const first = nativeTreeDigest()
    const plugin = JSON.parse(readFileSync(join(app, 'app.json'), 'utf8')).expo.plugins.find((p) => Array.isArray(p) && p[0] === '@latchkey/expo')
    const { faceIDPermission, allowBackup } = plugin?.[1] ?? {}
    if (typeof faceIDPermission !== 'string') fail('the README app.json block sets no faceIDPermission')
    if (typeof allowBackup !== 'boolean') fail('the README app.json block does not show allowBackup')
    const manifest = readFileSync(join(app, 'android/app/src/main/AndroidManifest.xml'), 'utf8')
    const application = /<application\b[^>]*>/.exec(manifest)?.[0] ?? fail('no <application> in AndroidManifest.xml')
    for (const attr of [`android:allowBackup="${allowBackup}"`, 'android:fullBackupContent="@xml/secure_store_backup_rules"', 'android:dataExtractionRules="@xml/secure_store_data_extraction_rules"']) {
      if (!application.includes(attr)) fail(`AndroidManifest.xml <application> lacks ${attr}`)
    }
    const plist = walk(join(app, 'ios')).find((f) => f.endsWith('/Info.plist') && !f.includes('Tests'))
    const plistText = readFileSync(join(app, 'ios', plist), 'utf8')
    const written = /<key>NSFaceIDUsageDescription<\/key>\s*<string>([^<]*)<\/string>/.exec(plistText)?.[1]
    if (written !== faceIDPermission) fail(`Info.plist: NSFaceIDUsageDescription is ${JSON.stringify(written)}, not the README's ${JSON.stringify(faceIDPermission)}`)
    run('npx', ['expo', 'prebuild', '--no-install'])
    if (nativeTreeDigest() !== first) fail('a second `expo prebuild` changed the native projects (the plugin is not idempotent)')
  })

  if (sizesFile) {
    await step('sizes (no bytecode, source maps)', () => {
      const out = {}
      for (const platform of ['web', 'android', 'ios']) {
        const dir = `dist/sizes-${platform}`
        run('npx', ['expo', 'export', '--platform', platform, '--no-bytecode', '--source-maps', '--output-dir', dir])
        const jsDir = join(app, dir, '_expo/static/js', platform)
        const totals = {}
        for (const f of walk(jsDir).filter((f) => /\.(js|hbc)$/.test(f))) {
          const bytes = bytesBySource(readFileSync(join(jsDir, f), 'utf8'), JSON.parse(readFileSync(join(jsDir, `${f}.map`), 'utf8')))
          for (const [source, n] of bytes) {
            const pkg = packageOf(source)
            totals[pkg] = (totals[pkg] ?? 0) + n
          }
        }
        out[platform] = Object.fromEntries(Object.entries(totals).filter(([k]) => /^@latchkey\/|^expo-secure-store$|^expo-local-authentication$|^\(total\)$/.test(k)))
        out[platform]['(total)'] = Object.values(totals).reduce((a, b) => a + b, 0)
      }
      writeFileSync(sizesFile, `${JSON.stringify(out, null, 2)}\n`)
      process.stderr.write(`${JSON.stringify(out, null, 2)}\n`)
    })
  }
}

try {
  await main()
  const total = (Date.now() - started) / 1000
  for (const [name, s] of timings) process.stderr.write(`  ${s.toFixed(1).padStart(6)} s  ${name}\n`)
  console.log(`consumer-check: ok in ${total.toFixed(0)} s (${TEMPLATE}, app in ${app})`)
  console.log(`consumer-check: ${timings.length} passed, 0 failed`)
} catch (err) {
  console.error(`consumer-check: FAILED: ${err.message}`)
  console.log(`consumer-check: ${timings.length} passed, 1 failed`)
  process.exit(1)
}
