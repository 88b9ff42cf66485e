import { createReadStream, statSync } from 'node:fs'
import { extname, join, normalize, resolve, sep } from 'node:path'
import { Readable } from 'node:stream'
import type { MiddlewareHandler } from 'hono'

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.ttf': 'font/ttf',
  '.otf': 'font/otf',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.wasm': 'application/wasm',
}

function fileAt(root: string, urlPath: string): string | undefined {
  let decoded: string
  try {
    decoded = decodeURIComponent(urlPath)
  } catch {
    return undefined
  }
  if (decoded.includes('\0')) return undefined
  const full = normalize(join(root, decoded))
  if (full !== root && !full.startsWith(root + sep)) return undefined // no path traversal
  try {
    const st = statSync(full)
    if (st.isFile()) return full
    if (st.isDirectory()) {
      const index = join(full, 'index.html')
      if (statSync(index, { throwIfNoEntry: false })?.isFile()) return index
    }
  } catch {
    return undefined
  }
  return undefined
}

/**
 * Serves a built single-page app from `dir`: existing files as they are, and index.html for
 * any other GET/HEAD path that is not an API path (client-side routes).
 */
export function serveSpa(dir: string, isApiPath: (path: string) => boolean): MiddlewareHandler {
  const root = resolve(dir)
  return async (c, next) => {
    if ((c.req.method !== 'GET' && c.req.method !== 'HEAD') || isApiPath(c.req.path)) return next()
    let file = fileAt(root, c.req.path)
    const asset = file !== undefined
    if (!file) {
      // Unknown paths that look like files (have an extension) are real 404s, not app routes.
      if (extname(c.req.path) !== '') return next()
      file = fileAt(root, '/index.html')
      if (!file) return next()
    }
    const type = TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream'
    const headers: Record<string, string> = {
      'Content-Type': type,
      'Content-Length': String(statSync(file).size),
      'X-Content-Type-Options': 'nosniff',
      // Hashed bundles can be cached; the HTML shell is revalidated each time.
      'Cache-Control': asset && !file.endsWith('.html') && c.req.path.includes('/_expo/') ? 'public, max-age=31536000, immutable' : 'no-cache',
    }
    if (c.req.method === 'HEAD') return new Response(null, { status: 200, headers })
    return new Response(Readable.toWeb(createReadStream(file)) as ReadableStream, { status: 200, headers })
  }
}
