// Expo resolves `app.plugin.js` in a package root; the plugin itself is CommonJS.
export { default } from './app.plugin.cjs'
