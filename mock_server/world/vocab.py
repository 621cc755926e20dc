"""The words and numbers the seeded world is made of: its "now", VM roles and environments,
guest OS names, ISO names, CPU / memory / disk shapes, the kinds of task history, and which
resources the dedicated builders fill (everything else is generic)."""

BASE_MS = 1766644300000            # 2025-12-25T06:31:40Z: the world's "now"
DAY_MS = 24 * 3600 * 1000

# Resources the dedicated builders fill; everything else is generic.
# Tower-wide settings exist once, in CloudTower's defaults (the VM recycle bin starts off).
SINGLETONS = {"GlobalSettings": {"vm_recycle_bin": {"enabled": False, "retain": 7}}}
CORE = frozenset({
    "Organization", "Datacenter", "Cluster", "Host", "Vds", "Vlan", "Label", "User", "VmFolder",
    "VmPlacementGroup", "ElfStoragePolicy", "ElfImage", "ContentLibraryImage", "VmTemplate",
    "ContentLibraryVmTemplate", "IscsiTarget", "IscsiLun", "IscsiLunSnapshot", "ConsistencyGroup",
    "ConsistencyGroupSnapshot", "Vm", "VmDisk", "VmVolume", "VmNic", "VmSnapshot", "VmVolumeSnapshot",
    "Alert", "Task"})

VM_ROLES = ("web", "api", "db", "mysql", "pg", "redis", "kafka", "es", "nginx", "k8s-node", "k8s-master",
            "jenkins", "gitlab", "harbor", "prometheus", "grafana", "ldap", "mq", "cache", "app", "batch",
            "win-rdp", "win-ad", "sqlserver", "oracle", "minio", "etcd", "haproxy", "vpn", "bastion")
VM_ENVS = ("prod", "stg", "dev", "test", "qa", "ops")
LINUX_OS = ("CentOS Linux 7 (Core)", "Ubuntu 22.04.4 LTS", "Rocky Linux 9.3", "Red Hat Enterprise Linux 8.9",
            "Debian GNU/Linux 12", "openEuler 22.03 LTS", "Kylin Linux Advanced Server V10")
WIN_OS = ("Windows Server 2019 Datacenter", "Windows Server 2022 Standard", "Windows 10 Pro")
ISO_NAMES = ("CentOS-7-x86_64-DVD-2009.iso", "ubuntu-22.04.4-live-server-amd64.iso", "Rocky-9.3-x86_64-dvd.iso",
             "SMTX_VMTOOLS-4.0.0.iso", "virtio-win-0.1.240.iso", "Windows_Server_2019.iso",
             "openEuler-22.03-LTS-x86_64-dvd.iso", "debian-12.5.0-amd64-netinst.iso", "cirros-0.6.2.iso",
             "Kylin-Server-V10-SP3-x86_64.iso")
CPU_SHAPES = ((1, 1), (1, 2), (1, 4), (2, 2), (1, 8), (2, 4), (2, 8), (4, 4))
MEM_GIB = (1, 2, 4, 8, 8, 16, 16, 32, 64)
DISK_GIB = (20, 40, 50, 80, 100, 200, 500)
TASK_KINDS = (("Vm", "createVm", "Create virtual machine"), ("Vm", "updateVm", "Edit virtual machine"),
              ("Vm", "startVm", "Power on virtual machine"), ("Vm", "shutDownVm", "Shut down virtual machine"),
              ("VmSnapshot", "createVmSnapshot", "Create virtual machine snapshot"),
              ("Vm", "migrateVm", "Migrate virtual machine"), ("Vm", "cloneVm", "Clone virtual machine"),
              ("IscsiLun", "createIscsiLun", "Create iSCSI LUN"), ("Vlan", "createVlan", "Create VM network"))

