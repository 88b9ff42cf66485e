// The slice of node-oidc-provider 9 (no published types) that the integration tests use.
declare module 'oidc-provider' {
  interface Model {
    save(): Promise<string>
  }
  interface StoredToken {
    jkt?: string
    aud?: string | string[]
    scope?: string
    consumed?: unknown
  }
  interface Grant extends Model {
    addOIDCScope(scope: string): void
    addResourceScope(resource: string, scope: string): void
  }
  interface ClientModel {
    clientId: string
  }
  export default class Provider {
    constructor(issuer: string, configuration: Record<string, unknown>)
    callback(): (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void
    on(event: string, listener: (...args: unknown[]) => void): this
    Grant: new (fields: { accountId: string; clientId: string }) => Grant
    Client: { find(id: string): Promise<ClientModel | undefined> }
    RefreshToken: (new (fields: Record<string, unknown>) => Model) & { find(value: string): Promise<StoredToken | undefined> }
    AccessToken: { find(value: string): Promise<StoredToken | undefined> }
  }
}
