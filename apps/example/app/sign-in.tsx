import { AuthForm } from '../src/auth-form'

export default function SignIn() {
  return <AuthForm mode="sign-in" />
}
