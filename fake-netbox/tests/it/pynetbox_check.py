"""Drives a NetBox with the official Python client, pynetbox, and exits non-zero on any surprise.

Run by tests/it/pynetbox.rs against the fake-netbox binary loaded with the `vlab` fixture:
    python3 pynetbox_check.py URL TOKEN
It lists and filters devices by site and role, follows pagination, creates and updates a device,
creates a cable, reads the change log, and checks the errors pynetbox raises.
"""
import sys

import pynetbox

url, token = sys.argv[1], sys.argv[2]
nb = pynetbox.api(url, token=token)


def check(cond, what):
    if not cond:
        print("FAILED:", what)
        sys.exit(1)
    print("ok:", what)


status = nb.status()
check(status["netbox-version"] == "4.7.3", "status reports NetBox 4.7.3")
check(nb.version == "4.7", "API-Version header read by pynetbox: %r" % nb.version)

# List and filter devices by site and role.
leaves = list(nb.dcim.devices.filter(site="vlab", role="server-leaf"))
check([d.name for d in leaves] == ["leaf-01", "leaf-02", "leaf-03"], "leaves by site and role: %s" % [d.name for d in leaves])
check(leaves[0].role.slug == "server-leaf" and leaves[0].site.slug == "vlab", "nested records resolve")
check(leaves[0].device_type.slug == "vs", "device type is the switch profile")
check(leaves[0].custom_fields["hedgehog_redundancy_group"] == "eslag-1", "custom fields")
servers = list(nb.dcim.devices.filter(role="server"))
check(len(servers) == 6, "6 servers")
check(nb.dcim.devices.count(site="vlab") == 12, "count() uses the brief count query")

# Follow pagination: small pages force many requests; every interface is seen exactly once.
total = nb.dcim.interfaces.count(site="vlab")
paged = list(nb.dcim.interfaces.filter(site="vlab", limit=25))
check(len(paged) == total, "followed next links: %d of %d" % (len(paged), total))
check(len({i.id for i in paged}) == total, "no duplicates across pages")
check(len(list(nb.dcim.interfaces.all())) == total, "all() walks every page")

spine = nb.dcim.devices.get(name="spine-01")
check(spine.primary_ip4 is not None and str(spine.primary_ip4).startswith("172.30.0."), "primary_ip4")
m1 = nb.dcim.interfaces.get(device="spine-01", name="M1")
check(m1.mgmt_only and m1.mac_address == "0C:20:12:FF:01:00", "boot MAC on M1: %s" % m1.mac_address)
e1 = nb.dcim.interfaces.get(device="server-01", name="enp2s1")
check(e1.lag.name == "bond0", "LAG membership")
check([p.device.name for p in e1.link_peers] == ["leaf-01"], "link peers")
check(e1.connected_endpoints[0].device.name == "leaf-01", "connected endpoints")

# Create and update a device.
site = nb.dcim.sites.get(slug="vlab")
role = nb.dcim.device_roles.get(slug="server")
dtype = nb.dcim.device_types.get(slug="server")
new = nb.dcim.devices.create(name="server-99", device_type=dtype.id, role=role.id, site=site.id, status="planned")
check(new.id and new.status.value == "planned", "created a device")
before = new.last_updated
new.serial = "PYNB-%d" % new.id
new.description = "created by pynetbox"
check(new.save(), "save() sent a PATCH")
again = nb.dcim.devices.get(new.id)
check(again.serial == new.serial and again.description == "created by pynetbox", "update persisted")
check(again.last_updated >= before, "last_updated moved")
check(again.update({"status": "active"}), "update() sent a PATCH")
check(nb.dcim.devices.get(new.id).status.value == "active", "status updated")

# Create a cable between a new server NIC and a free leaf port.
nic = nb.dcim.interfaces.create(device=new.id, name="enp2s1", type="25gbase-x-sfp28")
port = nb.dcim.interfaces.get(device="leaf-03", name="E1/40")
check(port.cable is None, "E1/40 on leaf-03 is free")
cable = nb.dcim.cables.create(
    a_terminations=[{"object_type": "dcim.interface", "object_id": nic.id}],
    b_terminations=[{"object_type": "dcim.interface", "object_id": port.id}],
    status="connected",
    label="server-99/enp2s1--leaf-03/E1/40",
)
check(cable.id and cable.a_terminations[0].object.name == "enp2s1", "created a cable")
nic = nb.dcim.interfaces.get(nic.id)
check(nic.cable.id == cable.id and nic.link_peers[0].name == "E1/40", "cable shows on the interface")

# Read the change log.
changes = list(nb.core.object_changes.filter(changed_object_type="dcim.cable", changed_object_id=cable.id))
check([c.action.value for c in changes] == ["update", "create"], "cable create + update records, newest first")
same_request = list(nb.core.object_changes.filter(request_id=changes[0].request_id))
check(len(same_request) == 6, "one cable write = 6 change records: %d" % len(same_request))
device_changes = list(nb.core.object_changes.filter(changed_object_type="dcim.device", changed_object_id=new.id))
check([c.action.value for c in device_changes][-1] == "create", "device history ends with its creation")
check(device_changes[0].postchange_data["status"] == "active", "postchange data holds raw values")
first = list(nb.core.object_changes.filter(ordering="id", limit=5))
check(first[0].id == 1, "the change log starts at change 1")

# Choices (OPTIONS) and errors.
choices = nb.dcim.devices.choices()
check({"value": "active", "display_name": "Active"} in choices["status"], "choices() from OPTIONS")
try:
    nb.dcim.devices.create(name="bad", status="bogus")
    check(False, "invalid create raised")
except pynetbox.RequestError as e:
    check(e.req.status_code == 400 and "status" in e.error and "device_type" in e.error, "RequestError 400: %s" % e.error)
bad = pynetbox.api(url, token="nbt_nosuchkey0." + "x" * 40)
try:
    list(bad.dcim.devices.all())
    check(False, "bad token raised")
except pynetbox.RequestError as e:
    check(e.req.status_code == 403 and "Invalid v2 token" in e.error, "bad token -> 403")

cable.delete()
check(nb.dcim.interfaces.get(nic.id).cable is None, "deleting the cable frees the interface")
check(new.delete(), "deleted the device")
check(nb.dcim.devices.get(name="server-99") is None, "device gone")
print("pynetbox check OK")
