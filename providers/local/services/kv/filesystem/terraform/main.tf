# Tables of the local provider: one folder each under the local root, in .infrar-kv/ so that no
# table shares a folder with a bucket. Only the null provider is needed, so plan and apply run
# with no cloud account and no network.

variable "tables" {
  description = "Logical name -> physical name and the permissions the code uses."
  type = map(object({
    name        = string
    permissions = list(string)
  }))
}

variable "root" {
  description = "Folder that holds the tables' folder; a relative path is taken from the project folder."
  type        = string
}

variable "project_dir" {
  description = "The project folder, relative to the Terraform working directory."
  type        = string
  default     = "."
}

locals {
  root = substr(var.root, 0, 1) == "/" ? var.root : abspath("${path.root}/${var.project_dir}/${var.root}")
}

resource "null_resource" "table" {
  for_each = var.tables

  triggers = {
    folder = "${local.root}/.infrar-kv/${each.value.name}"
  }

  # An argument list, not a command line: no shell ever parses the folder name.
  provisioner "local-exec" {
    interpreter = ["mkdir", "-p", "--"]
    command     = self.triggers.folder
  }
}

output "folders" {
  description = "Table folders, by logical name."
  value       = { for key, table in null_resource.table : key => table.triggers.folder }
}

output "permissions" {
  description = "What the code does with each table, by logical name (folders have no IAM)."
  value       = { for key, table in var.tables : key => table.permissions }
}
