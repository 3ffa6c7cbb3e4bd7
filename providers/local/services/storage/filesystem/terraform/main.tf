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
}

resource "null_resource" "bucket" {
  for_each = var.buckets

  triggers = {
    folder = "${local.root}/${each.value.name}"
  }

  # An argument list, not a command line: no shell ever parses the folder name.
  provisioner "local-exec" {
    interpreter = ["mkdir", "-p", "--"]
    command     = self.triggers.folder
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
