// @vmm/vmm/koffi-native: koffi straight from its native module (io/koffi-native.ts), for @vmm/cli's
// bin, which loads koffi so before the library.
export { announceKoffiNative, koffiNativeOfLoader, requireWithKoffi } from './io/koffi-native';
