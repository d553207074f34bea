// @vmm/vmm/koffi-native: koffi straight from its native module (io/koffi-native.ts), for a program
// that loads a code-cached bundle as @vmm/cli's bin does (it inlines this from the sources).
export { announceKoffiNative, koffiNativeOfLoader, requireWithKoffi } from './io/koffi-native';
