// cnitool: a minimal CNI runtime on Debian's libcni (the library containerd, CRI-O
// and podman use), for driving zl-cni plugins in tests.
//
//	cnitool add|check|del <network> <netns name or path>
//
// Environment: NETCONFPATH (conflist dir, default /etc/cni/net.d), CNI_PATH,
// CNI_IFNAME (default eth0), CNI_CONTAINERID (default derived from the netns),
// CNI_ARGS ("K=V;…"), CAP_ARGS (JSON object of capability args), CNI_CACHE_DIR.
package main

import (
	"context"
	"crypto/sha512"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/containernetworking/cni/libcni"
)

func die(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "cnitool: "+format+"\n", a...)
	os.Exit(1)
}

func parseArgs(s string) [][2]string {
	var out [][2]string
	for _, kv := range strings.Split(s, ";") {
		if kv == "" {
			continue
		}
		p := strings.SplitN(kv, "=", 2)
		if len(p) != 2 {
			die("CNI_ARGS: %q is not KEY=VALUE", kv)
		}
		out = append(out, [2]string{p[0], p[1]})
	}
	return out
}

func main() {
	if len(os.Args) != 4 {
		die("usage: cnitool add|check|del <network> <netns>")
	}
	cmd, name, netns := os.Args[1], os.Args[2], os.Args[3]
	if !filepath.IsAbs(netns) {
		netns = filepath.Join("/var/run/netns", netns)
	}
	confDir := os.Getenv("NETCONFPATH")
	if confDir == "" {
		confDir = "/etc/cni/net.d"
	}
	list, err := libcni.LoadConfList(confDir, name)
	if err != nil {
		die("load network %q from %s: %v", name, confDir, err)
	}
	ifname := os.Getenv("CNI_IFNAME")
	if ifname == "" {
		ifname = "eth0"
	}
	id := os.Getenv("CNI_CONTAINERID")
	if id == "" {
		id = fmt.Sprintf("cnitool-%x", sha512.Sum512([]byte(netns)))[:28]
	}
	rt := &libcni.RuntimeConf{ContainerID: id, NetNS: netns, IfName: ifname, Args: parseArgs(os.Getenv("CNI_ARGS"))}
	if caps := os.Getenv("CAP_ARGS"); caps != "" {
		if err := json.Unmarshal([]byte(caps), &rt.CapabilityArgs); err != nil {
			die("CAP_ARGS: %v", err)
		}
	}
	cninet := libcni.NewCNIConfigWithCacheDir(filepath.SplitList(os.Getenv("CNI_PATH")), os.Getenv("CNI_CACHE_DIR"), nil)
	ctx := context.TODO()
	switch cmd {
	case "add":
		res, err := cninet.AddNetworkList(ctx, list, rt)
		if err != nil {
			die("add %s: %v", name, err)
		}
		if err := res.Print(); err != nil {
			die("print result: %v", err)
		}
	case "check":
		if err := cninet.CheckNetworkList(ctx, list, rt); err != nil {
			die("check %s: %v", name, err)
		}
	case "del":
		if err := cninet.DelNetworkList(ctx, list, rt); err != nil {
			die("del %s: %v", name, err)
		}
	default:
		die("unknown command %q (add, check, del)", cmd)
	}
}
