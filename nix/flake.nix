# A devshell for nix users: node 20, pnpm, gcc, qemu, e2fsprogs and the test-VM tools.
# Not exercised by CI here (our CI machines are Debian); `nix develop ./nix` to use it.
{
  description = "vmm development shell";
  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-24.05";
  outputs = { self, nixpkgs }:
    let
      systems = [ "x86_64-linux" "aarch64-linux" ];
      forAll = f: nixpkgs.lib.genAttrs systems (s: f nixpkgs.legacyPackages.${s});
    in {
      devShells = forAll (pkgs: {
        default = pkgs.mkShell {
          packages = with pkgs; [
            nodejs_20 nodePackages.pnpm gcc gnumake qemu e2fsprogs busybox cpio acpica-tools
            flex bison bc elfutils openssl iproute2 slirp4netns passt iperf3
          ];
        };
      });
    };
}
