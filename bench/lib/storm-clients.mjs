// The four clients of refresh-storm, each written as its documentation or the tutorials that
// teach it show. Every factory gets the API base URL, the token endpoint and a signed-in token
// response, and returns { request(path) → Promise<status>, close() }.
import axios from 'axios'
import { createAuthRefresh } from 'axios-auth-refresh'
import { createSessionClient, memoryStorage, oauth2Refresh, silentLogger } from '@latchkey/core'

const form = (refreshToken) => new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }).toString()
const FORM_HEADERS = { 'Content-Type': 'application/x-www-form-urlencoded' }

/** Latchkey: client.fetch, which refreshes once for every caller and replays each request once. */
export async function latchkey({ baseUrl, tokenEndpoint, signedIn }) {
  const client = createSessionClient({
    storage: memoryStorage(),
    refresh: oauth2Refresh({ tokenEndpoint }),
    logger: silentLogger,
  })
  await client.start()
  await client.signIn(signedIn)
  return {
    async request(path) {
      const res = await client.fetch(`${baseUrl}${path}`)
      await res.arrayBuffer()
      return res.status
    },
    close: () => client.stop(),
  }
}

/** An axios instance whose request interceptor sends the current access token (where every tutorial starts). */
function bearerAxios(baseUrl, currentToken) {
  const api = axios.create({ baseURL: baseUrl })
  api.interceptors.request.use((config) => {
    config.headers['Authorization'] = `Bearer ${currentToken()}`
    return config
  })
  return api
}

/** The storm's view of an axios-based client: GET a path, report the status. */
const axiosClient = (api) => ({
  async request(path) {
    const res = await api.get(path)
    return res.status
  },
  close() {},
})

/**
 * axios-auth-refresh, configured as its README shows: a request interceptor that reads the current
 * token, and createAuthRefresh(instance, refreshAuthLogic) whose logic posts to the token endpoint
 * with plain axios, stores the new tokens and patches the failed request's header.
 */
export async function axiosAuthRefresh({ baseUrl, tokenEndpoint, signedIn }) {
  let tokens = { access: signedIn.access_token, refresh: signedIn.refresh_token }
  const api = bearerAxios(baseUrl, () => tokens.access)
  const refreshAuthLogic = (failedRequest) =>
    axios.post(tokenEndpoint, form(tokens.refresh), { headers: FORM_HEADERS }).then((tokenRefreshResponse) => {
      tokens = { access: tokenRefreshResponse.data.access_token, refresh: tokenRefreshResponse.data.refresh_token }
      failedRequest.response.config.headers['Authorization'] = 'Bearer ' + tokens.access
      return Promise.resolve()
    })
  createAuthRefresh(api, refreshAuthLogic)
  return axiosClient(api)
}

/** What most hand-written code does: a fetch wrapper that refreshes whenever it sees a 401. */
export async function naiveInterceptor({ baseUrl, tokenEndpoint, signedIn }) {
  let tokens = { access: signedIn.access_token, refresh: signedIn.refresh_token }
  const authFetch = async (url, init = {}) => {
    const send = () => fetch(url, { ...init, headers: { ...init.headers, Authorization: `Bearer ${tokens.access}` } })
    const res = await send()
    if (res.status !== 401) return res
    await res.arrayBuffer()
    const r = await fetch(tokenEndpoint, { method: 'POST', headers: FORM_HEADERS, body: form(tokens.refresh) })
    if (!r.ok) throw new Error(`refresh failed with ${r.status}`)
    const body = await r.json()
    tokens = { access: body.access_token, refresh: body.refresh_token }
    return send()
  }
  return {
    async request(path) {
      const res = await authFetch(`${baseUrl}${path}`)
      await res.arrayBuffer()
      return res.status
    },
    close() {},
  }
}

/**
 * The tutorial pattern: an axios response interceptor with an `isRefreshing` flag and a queue of
 * the requests that failed meanwhile; the first 401 refreshes, the rest wait in the queue and are
 * replayed with the new token; a failed refresh rejects the queue (processQueue(error)).
 */
export async function queueInterceptor({ baseUrl, tokenEndpoint, signedIn }) {
  let tokens = { access: signedIn.access_token, refresh: signedIn.refresh_token }
  const api = bearerAxios(baseUrl, () => tokens.access)
  let isRefreshing = false
  let failedQueue = []
  const processQueue = (error, token = null) => {
    failedQueue.forEach((prom) => (error ? prom.reject(error) : prom.resolve(token)))
    failedQueue = []
  }
  api.interceptors.response.use(
    (response) => response,
    (error) => {
      const originalRequest = error.config
      if (error.response?.status === 401 && !originalRequest._retry) {
        if (isRefreshing) {
          return new Promise((resolve, reject) => failedQueue.push({ resolve, reject })).then(() => api(originalRequest))
        }
        originalRequest._retry = true
        isRefreshing = true
        return new Promise((resolve, reject) => {
          axios
            .post(tokenEndpoint, form(tokens.refresh), { headers: FORM_HEADERS })
            .then(({ data }) => {
              tokens = { access: data.access_token, refresh: data.refresh_token }
              processQueue(null, data.access_token)
              resolve(api(originalRequest))
            })
            .catch((err) => {
              processQueue(err, null)
              reject(err)
            })
            .finally(() => {
              isRefreshing = false
            })
        })
      }
      return Promise.reject(error)
    },
  )
  return axiosClient(api)
}

/**
 * The other widespread tutorial variant: `isRefreshing` plus a list of subscriber callbacks that
 * `onRefreshed(token)` replays. It has no failure path: when the refresh fails the flag stays set
 * and the subscribers are never called.
 */
export async function queueInterceptorSubscribers({ baseUrl, tokenEndpoint, signedIn }) {
  let tokens = { access: signedIn.access_token, refresh: signedIn.refresh_token }
  const api = bearerAxios(baseUrl, () => tokens.access)
  let isRefreshing = false
  let refreshSubscribers = []
  const subscribeTokenRefresh = (cb) => refreshSubscribers.push(cb)
  const onRefreshed = (token) => {
    refreshSubscribers.forEach((cb) => cb(token))
    refreshSubscribers = []
  }
  api.interceptors.response.use(
    (response) => response,
    (error) => {
      const originalRequest = error.config
      if (error.response?.status === 401) {
        if (!isRefreshing) {
          isRefreshing = true
          axios
            .post(tokenEndpoint, form(tokens.refresh), { headers: FORM_HEADERS })
            .then(({ data }) => {
              isRefreshing = false
              tokens = { access: data.access_token, refresh: data.refresh_token }
              onRefreshed(data.access_token)
            })
            // The tutorials stop at .then; a browser would only log the rejection. Node would
            // end the process on an unhandled rejection, so it is swallowed here, nothing more.
            .catch(() => undefined)
        }
        return new Promise((resolve) => {
          subscribeTokenRefresh(() => resolve(api(originalRequest)))
        })
      }
      return Promise.reject(error)
    },
  )
  return axiosClient(api)
}

export const CLIENTS = {
  latchkey,
  'axios-auth-refresh': axiosAuthRefresh,
  'naive-interceptor': naiveInterceptor,
  'queue-interceptor': queueInterceptor,
  'queue-interceptor-subscribers': queueInterceptorSubscribers,
}
