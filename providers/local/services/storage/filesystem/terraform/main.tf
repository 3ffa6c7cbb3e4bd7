# Buckets of the local provider: one folder each under the local root. Only the null provider
# is needed, so plan and apply run with no cloud account and no network.

variable "buckets" {
  description = "Logical name -> physical name and the permissions the code uses."
  type = map(object({
    name        = string
    permissions = list(string)
  }))
}

variable "root" {
  description = "Folder that holds the buckets; a relative path is taken from the project folder."
  type        = string
}

variable "project_dir" {
  description = "The project folder, relative to the Terraform working directory."
  type        = string
  default     = "."
}

locals {
  root = substr(var.root, 0, 1) == "/" ? var.root : abspath("${path.root}/${var.project_dir}/${var.root}")
  # Beside the root, not in it, so the root holds only buckets: one empty file per folder
  # created, `<bucket>/<generation>`, which tells a folder never made from one removed by hand.
  records = "${dirname(local.root)}/.infrar-folders/${basename(local.root)}"
  # fileexists() fails on a folder, so `!can(fileexists(path))` is true only for a folder.
  present = { for key, bucket in var.buckets : key => !can(fileexists("${local.root}/${bucket.name}")) }
  made    = { for key, bucket in var.buckets : key => length(fileset("${local.records}/${bucket.name}", "*")) }
}

resource "null_resource" "bucket" {
  for_each = var.buckets

  triggers = {
    folder = "${local.root}/${each.value.name}"
    # Which creation of the folder this is. While the folder is there it is the last one made;
    # once it is removed by hand it is the next one, so the plan replaces the bucket (drift)
    # and applying that plan makes the folder again.
    generation = local.present[each.key] ? max(1, local.made[each.key]) : local.made[each.key] + 1
  }

  # Argument lists, not command lines: no shell ever parses the folder name.
  provisioner "local-exec" {
    interpreter = ["mkdir", "-p", "--"]
    command     = self.triggers.folder
  }

  provisioner "local-exec" {
    interpreter = ["mkdir", "-p", "--"]
    command     = "${local.records}/${each.value.name}"
  }

  provisioner "local-exec" {
    interpreter = ["touch", "--"]
    command     = "${local.records}/${each.value.name}/${self.triggers.generation}"
  }
}

output "folders" {
  description = "Bucket folders, by logical name."
  value       = { for key, bucket in null_resource.bucket : key => bucket.triggers.folder }
}

output "permissions" {
  description = "What the code does with each bucket, by logical name (folders have no IAM)."
  value       = { for key, bucket in var.buckets : key => bucket.permissions }
}
