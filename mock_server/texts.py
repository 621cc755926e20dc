"""Human-readable texts in both languages of the API (en-US, zh-CN).

* `ALERTS`: the alert kinds the seeded world raises, each with message, cause, impact and
  solution in English and Chinese (as the tower's own alert rules carry them).
* `zh(text)`: the Chinese of a text the server produced in English: an alert text of the
  catalogue, or a task description ("Create vm web-1" -> "创建虚拟机 web-1", built from the
  operation's verb and resource words; the resource's own name is kept as it is).
* `localize(model, row, lang)`: a rendered row with its human-readable fields in `lang`.
"""

from __future__ import annotations

import re

ALERTS: tuple[dict[str, tuple[str, str]], ...] = (
    {"message": ("Host CPU usage is high", "主机 CPU 使用率过高"),
     "cause": ("The CPU usage of the host has stayed above the threshold.", "主机 CPU 使用率持续高于阈值。"),
     "impact": ("Virtual machines on the host may respond slowly.", "主机上的虚拟机可能响应变慢。"),
     "solution": ("Migrate some virtual machines to other hosts, or add hosts to the cluster.",
                  "将部分虚拟机迁移到其他主机, 或为集群添加主机。")},
    {"message": ("Disk health check failed", "硬盘健康检查失败"),
     "cause": ("The S.M.A.R.T. check of a physical disk reported errors.", "物理硬盘的 S.M.A.R.T. 检查报告了错误。"),
     "impact": ("Data on the disk may be at risk; the cluster may start data recovery.",
                "该硬盘上的数据可能存在风险, 集群可能开始数据恢复。"),
     "solution": ("Replace the disk after the data recovery completes.", "待数据恢复完成后更换该硬盘。")},
    {"message": ("Storage space usage exceeds threshold", "存储空间使用率超过阈值"),
     "cause": ("The used data space of the cluster exceeds the configured threshold.",
               "集群已使用的数据空间超过了设定的阈值。"),
     "impact": ("New volumes may fail to be created when the space runs out.", "空间耗尽时新建虚拟卷可能失败。"),
     "solution": ("Delete unused volumes and snapshots, or expand the cluster's capacity.",
                  "删除不再使用的虚拟卷和快照, 或扩容集群。")},
    {"message": ("NTP offset too large", "NTP 时间偏移过大"),
     "cause": ("The host's clock differs from the NTP server by more than the allowed offset.",
               "主机时钟与 NTP 服务器的偏差超过了允许值。"),
     "impact": ("Services that depend on synchronised time may misbehave.", "依赖时间同步的服务可能工作异常。"),
     "solution": ("Check the NTP servers of the cluster and the network to them.", "检查集群的 NTP 服务器及其网络连通性。")},
    {"message": ("VM memory usage is high", "虚拟机内存使用率过高"),
     "cause": ("The memory usage inside the virtual machine has stayed above the threshold.",
               "虚拟机内部的内存使用率持续高于阈值。"),
     "impact": ("Applications in the virtual machine may slow down or be stopped by the guest OS.",
                "虚拟机中的应用可能变慢或被操作系统终止。"),
     "solution": ("Increase the virtual machine's memory, or reduce its workload.", "增加虚拟机内存, 或降低其负载。")},
    {"message": ("Network packet loss detected", "检测到网络丢包"),
     "cause": ("Packets between hosts of the cluster are being lost.", "集群主机之间的网络存在丢包。"),
     "impact": ("Storage and VM traffic may be slow or interrupted.", "存储与虚拟机流量可能变慢或中断。"),
     "solution": ("Check the cables, switch ports and NIC settings of the hosts.", "检查主机的线缆、交换机端口与网卡配置。")},
)

_PHRASES: dict[str, str] = {}
for _kind in ALERTS:
    for _en, _zh in _kind.values():
        _PHRASES[_en] = _zh

# Task descriptions: "<verb> <resource words> <name>", from operation names and the seeded history.
VERBS = {
    "create": "创建", "delete": "删除", "update": "编辑", "edit": "编辑", "start": "开机", "power": "开机",
    "shutdown": "关机", "shut": "关机", "poweroff": "强制关机", "restart": "重启", "force": "强制",
    "suspend": "暂停", "resume": "恢复", "migrate": "迁移", "clone": "克隆", "rollback": "回滚",
    "rebuild": "重建", "add": "添加", "remove": "移除", "mount": "挂载", "unmount": "卸载", "expand": "扩容",
    "upload": "上传", "export": "导出", "import": "导入", "convert": "转换", "install": "安装", "enter": "进入",
    "exit": "退出", "move": "移动", "reset": "重置", "connect": "连接", "disconnect": "断开", "eject": "弹出",
    "insert": "插入", "sync": "同步", "recover": "恢复", "restore": "恢复", "upgrade": "升级", "set": "设置",
    "enable": "启用", "disable": "禁用", "bind": "绑定", "unbind": "解绑", "abort": "中止", "cancel": "取消",
    "precheck": "预检查", "execute": "执行", "keep": "保留", "resize": "调整", "reboot": "重启", "stop": "停止",
    "edit-vm": "编辑虚拟机",
}
NOUNS = {
    "virtual machine": "虚拟机", "vm": "虚拟机", "vms": "虚拟机", "snapshot": "快照", "snapshots": "快照",
    "disk": "磁盘", "disks": "磁盘", "volume": "虚拟卷", "volumes": "虚拟卷", "nic": "网卡", "nics": "网卡",
    "label": "标签", "labels": "标签", "folder": "虚拟机组", "cluster": "集群", "clusters": "集群",
    "host": "主机", "hosts": "主机", "iscsi": "iSCSI", "lun": "LUN", "luns": "LUN", "target": "Target",
    "template": "模板", "templates": "模板", "content": "内容", "library": "库", "image": "镜像", "images": "镜像",
    "vlan": "虚拟网络", "vm network": "虚拟机网络", "network": "网络", "vds": "虚拟分布式交换机", "user": "用户",
    "users": "用户", "datacenter": "数据中心", "placement": "放置", "group": "组", "groups": "组",
    "cd": "光驱", "rom": "", "cd-rom": "光驱", "gpu": "GPU", "device": "设备", "devices": "设备", "pci": "PCI",
    "usb": "USB", "nvmf": "NVMe-oF", "namespace": "命名空间", "subsystem": "子系统", "consistency": "一致性",
    "plan": "计划", "backup": "备份", "replication": "复制", "alert": "报警", "rule": "规则", "report": "报表",
    "basic": "基本", "info": "信息", "from": "从", "to": "到", "of": "", "in": "", "and": "和", "recycle": "回收站",
    "bin": "", "maintenance": "维护", "mode": "模式", "machine": "虚拟机", "on": "", "off": "",
    "svt": "SVT", "elf": "ELF", "owner": "所有者", "vnc": "VNC", "ha": "高可用", "role": "角色",
    "security": "安全", "policy": "策略", "policies": "策略", "isolation": "隔离", "entity": "实体",
    "filter": "过滤器", "view": "视图", "graph": "图表", "organization": "组织", "task": "任务",
}
_WORD = re.compile(r"\S+")


def _task_zh(text: str) -> str | None:
    words = text.split(" ")
    if not words or words[0].lower() not in VERBS:
        return None
    out = [VERBS[words[0].lower()]]
    i = 1
    while i < len(words):
        two = " ".join(words[i:i + 2]).lower()
        if i + 1 < len(words) and two in NOUNS:
            out.append(NOUNS[two])
            i += 2
            continue
        w = words[i].lower()
        if w in NOUNS:
            out.append(NOUNS[w])
            i += 1
            continue
        if w in VERBS and i == 1:
            out.append(VERBS[w])
            i += 1
            continue
        break
    head = ""
    for piece in out:
        if head and piece and head[-1].isascii() and head[-1].isalnum() and piece[0].isascii():
            head += " "
        head += piece
    rest = " ".join(words[i:])
    return f"{head} {rest}" if rest else head


def zh(text: str | None) -> str | None:
    """The Chinese of a server-produced English text (unchanged when unknown)."""
    if not text:
        return text
    hit = _PHRASES.get(text)
    if hit is not None:
        return hit
    t = _task_zh(text)
    return t if t is not None else text


LOCALIZED: dict[str, tuple[str, ...]] = {
    "Alert": ("message", "cause", "impact", "solution"),
    "GlobalAlertRule": ("message", "cause", "impact", "solution"),
    "Task": ("description",),
}


def localize(model: str, row: dict, lang: str) -> dict:
    fields = LOCALIZED.get(model)
    if lang != "zh-CN" or not fields:
        return row
    out = dict(row)
    for f in fields:
        v = out.get(f)
        if isinstance(v, str):
            out[f] = zh(v)
    return out
